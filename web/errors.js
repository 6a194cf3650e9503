// The one error type the package throws for bad input, with a machine-readable code.
//   NOT_SAFETENSORS      the bytes are not a safetensors file
//   TRUNCATED            a safetensors file cut short (the header or a tensor runs past the end)
//   NOT_INFORCOEF        a valid safetensors file that is not an inforcoef model
//   UNSUPPORTED_VERSION  an inforcoef model of a format_version this runtime does not read
//   BAD_MODEL            an inforcoef model whose config or tensors break docs/model-format.md
//   IO                   the source could not be read (missing file, HTTP error)
//   RUNTIME              the wasm runtime refused (its message is included)
//   DISPOSED             the classifier was used after dispose()
export class InforcoefError extends Error {
    constructor(code, message, options) {
        super(message, options);
        this.name = 'InforcoefError';
        this.code = code;
    }
}
