"""A pure-Python reader and writer of the safetensors format, for machines where the `safetensors`
wheel (a Rust extension) cannot be installed. diffusers imports `safetensors` unconditionally;
sd-export saves `.bin` weights, but what diffusers may call here works for real:
`safe_open`, `safetensors.torch.load_file` / `save_file`, `SafetensorError`.

Format: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
then the raw little-endian tensor bytes.
"""
import json
import struct


class SafetensorError(Exception):
    pass


def read_header(path):
    with open(path, 'rb') as handle:
        (length,) = struct.unpack('<Q', handle.read(8))
        header = json.loads(handle.read(length))
    return header, 8 + length


class safe_open:  # noqa: N801 (the real package's name)
    def __init__(self, path, framework='pt', device='cpu'):
        if framework not in ('pt', 'torch'):
            raise SafetensorError(f'only framework="pt" is supported here, got {framework!r}')
        self.path = path
        self.header, self.offset = read_header(path)
        self.meta = self.header.pop('__metadata__', None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self.header.keys())

    def metadata(self):
        return self.meta

    def get_tensor(self, name):
        from .torch import _tensor_from_bytes
        entry = self.header[name]
        start, end = entry['data_offsets']
        with open(self.path, 'rb') as handle:
            handle.seek(self.offset + start)
            data = handle.read(end - start)
        return _tensor_from_bytes(data, entry['dtype'], entry['shape'])
