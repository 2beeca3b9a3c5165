"""What a .tflite file is made of, read from its flatbuffer (no TensorFlow needed).

Uses the TFLite schema module that ships with ai-edge-litert; the converter and `leaf-edge
inspect` both use it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ai_edge_litert import schema_py_generated as schema

_OPERATOR_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TENSOR_TYPES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
FORBIDDEN_OPS = {"WHILE", "IF", "CALL_ONCE", "CUSTOM"}
COMPLEX_TYPES = {"COMPLEX64", "COMPLEX128"}


@dataclass(frozen=True)
class OpInfo:
    """One operator of the graph: its name and the types of its first input and output."""

    name: str
    input_type: str
    output_type: str


def read_ops(model: bytes) -> list[OpInfo]:
    """Every operator of every subgraph, in order."""
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    codes = []
    for code in root.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = _OPERATOR_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
            name = f"CUSTOM:{custom}"
        codes.append(name)
    ops = []
    for subgraph in root.subgraphs:

        def type_of(indices, tensors=subgraph.tensors):
            real = [i for i in (indices if indices is not None else []) if i >= 0]
            return _TENSOR_TYPES.get(tensors[real[0]].type, "?") if real else "-"

        for op in subgraph.operators:
            ops.append(OpInfo(codes[op.opcodeIndex], type_of(op.inputs), type_of(op.outputs)))
    return ops


def tensor_names(model: bytes) -> list[str]:
    """Names of every tensor of every subgraph."""
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    return [t.name.decode() for g in root.subgraphs for t in g.tensors]


def integer_tensors(model: bytes, scopes: tuple[str, ...]) -> list[str]:
    """Names of the int8 and int16 tensors whose names hold one of ``scopes``."""
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    integer = {schema.TensorType.INT8, schema.TensorType.INT16}
    return [
        t.name.decode()
        for g in root.subgraphs
        for t in g.tensors
        if t.type in integer and any(scope in t.name.decode() for scope in scopes)
    ]


def signature_outputs(model: bytes) -> dict[str, str]:
    """The first signature's outputs: ``{output name: tensor name}``."""
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    if not root.signatureDefs:
        return {}
    signature = root.signatureDefs[0]
    tensors = root.subgraphs[signature.subgraphIndex].tensors
    return {m.name.decode(): tensors[m.tensorIndex].name.decode() for m in signature.outputs}


def signatures(model: bytes) -> list[dict]:
    """Every signature: its key and its input and output names."""
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    return [
        {"key": d.signatureKey.decode(), "inputs": [m.name.decode() for m in d.inputs],
         "outputs": [m.name.decode() for m in d.outputs]}
        for d in root.signatureDefs or []
    ]  # fmt: skip


def tensor_types(model: bytes) -> set[str]:
    root = schema.ModelT.InitFromPackedBuf(model, 0)
    return {_TENSOR_TYPES.get(t.type, "?") for g in root.subgraphs for t in g.tensors}


def op_summary(ops: list[OpInfo]) -> dict[str, int]:
    """``{"CONV_2D/FLOAT32": 3, ...}``, sorted by count."""
    return dict(Counter(f"{op.name}/{op.output_type}" for op in ops).most_common())


def builtins_only_problems(model: bytes) -> list[str]:
    """Why a model breaks the builtins-only rule (empty when it does not)."""
    problems = sorted({op.name for op in read_ops(model) if op.name.split(":")[0] in FORBIDDEN_OPS})
    problems += [f"{t} tensors" for t in sorted(tensor_types(model) & COMPLEX_TYPES)]
    return problems


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output: name, shape and element type."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def io_tensors(model: bytes) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """The first subgraph's inputs and outputs."""
    graph = schema.Model.GetRootAs(model, 0).Subgraphs(0)

    def info(index: int) -> TensorInfo:
        tensor = graph.Tensors(index)
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        return TensorInfo(tensor.Name().decode(), shape, _TENSOR_TYPES.get(tensor.Type(), "?"))

    return (
        [info(graph.Inputs(i)) for i in range(graph.InputsLength())],
        [info(graph.Outputs(i)) for i in range(graph.OutputsLength())],
    )
