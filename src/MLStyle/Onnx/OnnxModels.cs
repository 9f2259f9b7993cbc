using Google.Protobuf;
using MLStyle.Files;
using Onnx;

namespace MLStyle.Onnx;

/// <summary>Loading, saving and inspecting ONNX models.</summary>
public static class OnnxModels
{
    /// <summary>The opset MLStyle brings models up to and emits its own graphs in.</summary>
    public const long TargetOpset = 17;

    /// <summary>
    /// Loads an ONNX model: reads only a regular file (never a FIFO or device), copies permitted external data into it
    /// (<see cref="ExternalData"/>: only from the model's own folder) and validates it (<see cref="ModelValidator"/>).
    /// Any problem is a <see cref="ModelException"/> with a one-line message.
    /// </summary>
    public static ModelProto Load(string path)
    {
        try { SafePaths.CheckReadable(path, "model file"); }
        catch (MLStyleException e) when (e is not ModelException) { throw new ModelException(e.Message, e); }
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OutOfMemoryException)
        {
            throw new ModelException($"cannot read model file '{path}': {FirstLine(e.Message)}", e);
        }
        return Parse(bytes, path, Path.GetDirectoryName(SafePaths.Canonical(path)));
    }

    /// <summary>
    /// Parses and validates ONNX bytes; <paramref name="source"/> names them in errors. External data is read only from
    /// <paramref name="directory"/> (the model file's folder; null: none is allowed), see <see cref="ExternalData"/>.
    /// </summary>
    public static ModelProto Parse(byte[] bytes, string source = "model", string? directory = null)
    {
        ModelProto m;
        try { m = ModelProto.Parser.ParseFrom(bytes); }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidOperationException or ArgumentException)
        {
            throw new ModelException($"'{source}' is not an ONNX model ({FirstLine(e.Message)})", e);
        }
        if (m.Graph is null || m.Graph.Node.Count == 0 || m.OpsetImport.Count == 0)
            throw new ModelException($"'{source}' is not an ONNX model (no graph or opset)");
        ExternalData.Inline(m, directory, source);
        ModelValidator.Validate(m, source);
        return m;
    }

    /// <summary>Serialises a model.</summary>
    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();

    /// <summary>Saves a model atomically (temporary file, then rename; see <see cref="AtomicFile"/>).</summary>
    public static void Save(ModelProto model, string path) => AtomicFile.Write(path, model.WriteTo);

    /// <summary>The default-domain opset version of a model.</summary>
    public static long Opset(ModelProto m) =>
        m.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 0;

    /// <summary>Names of the graph inputs that are not initializers.</summary>
    public static IReadOnlyList<string> RealInputs(ModelProto m)
    {
        var inits = m.Graph.Initializer.Select(i => i.Name).ToHashSet();
        return m.Graph.Input.Where(i => !inits.Contains(i.Name)).Select(i => i.Name).ToList();
    }

    /// <summary>Deep copy.</summary>
    public static ModelProto Clone(ModelProto m) => m.Clone();

    internal static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
