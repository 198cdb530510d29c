"""safetensors.torch in pure Python: load_file and save_file (see __init__.py)."""
import json
import struct

import torch

from . import safe_open

_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool,
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


def _tensor_from_bytes(data, dtype, shape):
    tensor = torch.frombuffer(bytearray(data), dtype=_DTYPES[dtype]) if data else torch.empty(0, dtype=_DTYPES[dtype])
    return tensor.reshape(shape)


def load_file(path, device='cpu'):
    with safe_open(path, 'pt') as handle:
        return {name: handle.get_tensor(name).to(device) for name in handle.keys()}


def save_file(tensors, path, metadata=None):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().cpu().numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.view(torch.int16).numpy().tobytes()
        header[name] = {'dtype': _NAMES[tensor.dtype], 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = metadata
    encoded = json.dumps(header).encode('utf-8')
    encoded += b' ' * (-len(encoded) % 8)
    with open(path, 'wb') as handle:
        handle.write(struct.pack('<Q', len(encoded)))
        handle.write(encoded)
        for chunk in chunks:
            handle.write(chunk)
