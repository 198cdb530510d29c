"""Writes fp16-io-unet.onnx: a graph with a Stable Diffusion UNet's interface in float16
(sample [batch, 4, h, w], timestep [batch], encoder_hidden_states [batch, 77, 8] → out_sample),
computing out_sample = 2 · sample + 0 · mean(encoder_hidden_states) + 0 · timestep in float16.
Run: /usr/bin/python3 make-fp16-unet.py (needs python3-onnx)."""
import onnx
from onnx import TensorProto, helper

F16 = TensorProto.FLOAT16
two = helper.make_tensor('two', F16, [], [2.0])
zero = helper.make_tensor('zero', F16, [], [0.0])
shape = helper.make_tensor('shape', TensorProto.INT64, [4], [-1, 1, 1, 1])
nodes = [
    helper.make_node('Mul', ['sample', 'two'], ['doubled']),
    helper.make_node('ReduceMean', ['encoder_hidden_states'], ['mean'], axes=[1, 2], keepdims=0),
    helper.make_node('Add', ['mean', 'timestep'], ['summed']),
    helper.make_node('Mul', ['summed', 'zero'], ['nothing']),
    helper.make_node('Reshape', ['nothing', 'shape'], ['nothing4']),
    helper.make_node('Add', ['doubled', 'nothing4'], ['out_sample']),
]
graph = helper.make_graph(
    nodes, 'fp16_io_unet',
    [helper.make_tensor_value_info('sample', F16, ['batch', 4, 'height', 'width']),
     helper.make_tensor_value_info('timestep', F16, ['batch']),
     helper.make_tensor_value_info('encoder_hidden_states', F16, ['batch', 'sequence', 8])],
    [helper.make_tensor_value_info('out_sample', F16, ['batch', 4, 'height', 'width'])],
    [two, zero, shape],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 14)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, 'fp16-io-unet.onnx')
