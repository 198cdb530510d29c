"""Read the initializers (weights) of an .onnx file without the onnx package: a minimal protobuf reader
for ModelProto.graph.initializer (TensorProto: dims, data_type, name, raw_data / float_data / int64_data).

  /usr/bin/python3 onnx_weights.py ../../packages/model-tiny/model/unet/model.onnx     # name, dtype, shape
"""
import sys

import numpy as np

# TensorProto.DataType values used by torch.onnx.export
DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 10: np.float16, 11: np.float64}


def _varint(b, i):
    r, s = 0, 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b):
    """Yield (field number, wire type, value) of one protobuf message."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        elif w == 2:
            size, i = _varint(b, i)
            v, i = b[i:i + size], i + size
        else:
            raise ValueError(f"unsupported protobuf wire type {w} (field {f}) at byte {i}")
        yield f, w, v


def _packed_varints(v, w):
    if w == 0:
        return [v]
    out, j = [], 0
    while j < len(v):
        x, j = _varint(v, j)
        out.append(x)
    return out


def _tensor(b):
    dims, dtype, name, raw, floats, ints = [], None, "", None, [], []
    for f, w, v in _fields(b):
        if f == 1:
            dims += _packed_varints(v, w)
        elif f == 2:
            dtype = v
        elif f == 8:
            name = bytes(v).decode()
        elif f == 9:
            raw = bytes(v)
        elif f == 4:
            floats.append(np.frombuffer(bytes(v), np.float32))
        elif f == 7:
            ints += _packed_varints(v, w)
    if dtype not in DTYPES:
        raise ValueError(f"initializer {name!r}: data_type {dtype} is not one of {sorted(DTYPES)}")
    if raw is not None:
        a = np.frombuffer(raw, DTYPES[dtype]).copy()
    elif floats:
        a = np.concatenate(floats)
    else:
        a = np.array(ints, DTYPES[dtype])
    return name, a.reshape(dims)


def initializers(path):
    """{name: numpy array} of every graph initializer, in file order (torch writes them in creation order)."""
    with open(path, "rb") as fh:
        b = memoryview(fh.read())
    out = {}
    for f, _, v in _fields(b):
        if f == 7:  # ModelProto.graph
            for g, _, v2 in _fields(v):
                if g == 5:  # GraphProto.initializer
                    name, a = _tensor(v2)
                    out[name] = a
    return out


if __name__ == "__main__":
    for k, a in initializers(sys.argv[1]).items():
        print(k, a.dtype, tuple(a.shape))
