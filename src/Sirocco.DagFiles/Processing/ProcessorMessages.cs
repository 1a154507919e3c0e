using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sirocco.DagFiles.Processing;

/// <summary>One file sent to a DAG-processor child: one JSON line on its standard input.</summary>
internal sealed record ProcessorRequest(long Id, string Path, string Text, string Hash, double TimeoutSeconds);

/// <summary>A DAG a child built: its id and task count.</summary>
internal sealed record ProcessorDag(string DagId, int Tasks);

/// <summary>An import error as a child reports it.</summary>
internal sealed record ProcessorError(string Message, int? Line, int? Column);

/// <summary>
/// A child's answer for one file: one JSON line on its standard output. <see cref="Tainted"/>: the file left something
/// behind in the child (a thread still running after the timeout, an exhausted heap), so the child must be replaced.
/// <see cref="Id"/> echoes the request's; a child says it is ready with a reply of id 0 before its first request.
/// </summary>
internal sealed record ProcessorReply(
    long Id,
    IReadOnlyList<ProcessorDag> Dags,
    IReadOnlyList<ProcessorError> Errors,
    DagFileOrigin Origin,
    double CompileMilliseconds,
    bool Tainted);

/// <summary>The wire format: camel-case JSON, one object per line.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ProcessorRequest))]
[JsonSerializable(typeof(ProcessorReply))]
internal sealed partial class ProcessorJson : JsonSerializerContext
{
}
