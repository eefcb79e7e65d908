"""Stand-ins for the three protobuf messages the worker's loader builds while indexing.

The host passes the real classes to the worker at start-up; indexing only sets their fields.
Enum values are those of FunctionRpc.proto.
"""


class _Message:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class BindingInfo(_Message):
    out, inout = 1, 2
    undefined, string, binary, stream = 0, 1, 2, 3


class RpcRetryOptions(_Message):
    pass


class RpcFunctionMetadata(_Message):
    pass
