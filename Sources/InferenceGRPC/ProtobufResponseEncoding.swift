import Foundation
import InferenceProtocol
import InferenceService

/// InferenceProtocol's answers → the protocol's protobuf messages. Outputs always travel as
/// `raw_output_contents` (what tritonclient reads), one entry per output, in the outputs' order.
///
/// ```swift
/// let message = ProtobufResponseEncoding.inference(try service.response(plan, outcome: outcome))
/// ```
enum ProtobufResponseEncoding {
    /// Copies every output element: run it on a thread pool.
    static func inference(_ response: InferenceResponse) -> Inference_ModelInferResponse {
        var message = Inference_ModelInferResponse()
        message.modelName = response.modelName
        message.modelVersion = response.modelVersion
        message.id = response.id ?? ""
        message.parameters = response.parameters.mapValues(parameter)
        message.outputs.reserveCapacity(response.outputs.count)
        message.rawOutputContents.reserveCapacity(response.outputs.count)
        for output in response.outputs {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.datatype.rawValue
            tensor.shape = output.shape.map(Int64.init)
            tensor.parameters = output.parameters.mapValues(parameter)
            message.outputs.append(tensor)
            message.rawOutputContents.append(Data(output.data.raw))
        }
        return message
    }

    static func parameter(_ value: ParameterValue) -> Inference_InferParameter {
        var parameter = Inference_InferParameter()
        switch value {
        case .bool(let flag): parameter.boolParam = flag
        case .int(let number): parameter.int64Param = number
        case .double(let number): parameter.doubleParam = number
        case .string(let text): parameter.stringParam = text
        }
        return parameter
    }

    /// `ModelMetadata`: the model's one version, its platform and its tensors (`-1`: the batch dimension).
    static func modelMetadata(_ signature: ModelSignature) -> Inference_ModelMetadataResponse {
        var message = Inference_ModelMetadataResponse()
        message.name = signature.name
        message.versions = [signature.version]
        message.platform = ModelSignature.platform
        message.inputs = ModelSignature.inputs.map(tensor)
        message.outputs = ModelSignature.outputs.map(tensor)
        return message
    }

    static func tensor(_ tensor: ModelSignature.Tensor) -> Inference_ModelMetadataResponse.TensorMetadata {
        var metadata = Inference_ModelMetadataResponse.TensorMetadata()
        metadata.name = tensor.name
        metadata.datatype = tensor.datatype.rawValue
        metadata.shape = tensor.shape.map(Int64.init)
        return metadata
    }

    /// `ServerMetadata`: HistoAE's name, release and protocol extensions.
    static func serverMetadata() -> Inference_ServerMetadataResponse {
        var message = Inference_ServerMetadataResponse()
        message.name = OpenInferenceService.serverName
        message.version = ServiceVersion.current
        message.extensions = OpenInferenceService.extensions
        return message
    }
}
