using Google.Protobuf;
using Onnx;

namespace MLStyle.Onnx;

/// <summary>Loading, saving and inspecting ONNX models.</summary>
public static class OnnxModels
{
    /// <summary>The opset MLStyle brings models up to and emits its own graphs in.</summary>
    public const long TargetOpset = 17;

    /// <summary>Loads an ONNX model; a missing or non-ONNX file is a <see cref="ModelException"/> with a one-line message.</summary>
    public static ModelProto Load(string path)
    {
        if (!File.Exists(path)) throw new ModelException($"model file '{path}' does not exist");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) { throw new ModelException($"cannot read model file '{path}': {e.Message}", e); }
        return Parse(bytes, path);
    }

    /// <summary>Parses ONNX bytes; <paramref name="source"/> names them in errors.</summary>
    public static ModelProto Parse(byte[] bytes, string source = "model")
    {
        ModelProto m;
        try { m = ModelProto.Parser.ParseFrom(bytes); }
        catch (Exception e) { throw new ModelException($"'{source}' is not an ONNX model ({FirstLine(e.Message)})", e); }
        if (m.Graph is null || m.Graph.Node.Count == 0 || m.OpsetImport.Count == 0)
            throw new ModelException($"'{source}' is not an ONNX model (no graph or opset)");
        foreach (var t in m.Graph.Initializer)
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                throw new ModelException($"'{source}' stores tensor '{t.Name}' in external data, which MLStyle does not read; save the model as a single file");
        return m;
    }

    /// <summary>Serialises a model.</summary>
    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();

    /// <summary>Saves a model atomically (temporary file, then rename).</summary>
    public static void Save(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new MLStyleException($"output directory '{dir}' does not exist");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                model.WriteTo(fs);
                fs.Flush(true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw new MLStyleException($"cannot write '{path}': {FirstLine(e.Message)}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

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

    static void TryDelete(string p)
    {
        try { if (File.Exists(p)) File.Delete(p); } catch { /* best effort */ }
    }
}
