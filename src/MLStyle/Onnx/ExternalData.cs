using Google.Protobuf;
using MLStyle.Files;
using Onnx;

namespace MLStyle.Onnx;

/// <summary>
/// MLStyle's one policy for tensors whose bytes live outside the model file ("external data"): they are read only from
/// regular files inside the model file's own folder (canonically: no escaping through <c>..</c>, absolute paths or
/// symbolic links), within those files' size, and copied into the model before anything else sees it. ONNX Runtime
/// therefore never resolves an external path itself (given model bytes it would resolve them against the working
/// directory). Every place a model can carry a tensor is covered: graph initializers, sparse initializers, tensor and
/// sparse-tensor attributes of any node (<c>Constant</c> and others), subgraphs of <c>Loop</c>/<c>If</c>/<c>Scan</c> at
/// any depth, model-local functions and training graphs. Anything else is refused with one line that does not say
/// whether the named file exists.
/// </summary>
internal static class ExternalData
{
    /// <summary>Every tensor of a model, wherever it is stored, with a short description of where.</summary>
    public static IEnumerable<(TensorProto Tensor, string Where)> Tensors(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph is not null)
            foreach (var t in Tensors(model.Graph, "graph")) yield return t;
        foreach (var f in model.Functions)
            foreach (var t in NodeTensors(f.Node, $"function '{f.Name}'")) yield return t;
        foreach (var info in model.TrainingInfo)
        {
            if (info.Initialization is not null) foreach (var t in Tensors(info.Initialization, "training initialization")) yield return t;
            if (info.Algorithm is not null) foreach (var t in Tensors(info.Algorithm, "training algorithm")) yield return t;
        }
    }

    /// <summary>
    /// Copies every permitted external tensor into the model and clears its external reference; refuses the others.
    /// </summary>
    /// <param name="model">The parsed model (changed in place).</param>
    /// <param name="modelDirectory">The folder of the model file, or null when the model did not come from a file (then any external data is refused).</param>
    /// <param name="source">How errors name the model.</param>
    /// <exception cref="ModelException">A tensor refers to data outside the folder, to something that is not a regular file, or beyond its end.</exception>
    public static void Inline(ModelProto model, string? modelDirectory, string source)
    {
        string? root = modelDirectory is null ? null : SafePaths.Canonical(modelDirectory);
        foreach (var (tensor, where) in Tensors(model).ToList())
        {
            if (tensor.DataLocation != TensorProto.Types.DataLocation.External && tensor.ExternalData.Count == 0) continue;
            var entries = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var kv in tensor.ExternalData) entries[kv.Key ?? ""] = kv.Value ?? "";
            string location = entries.GetValueOrDefault("location", "");
            ModelException Refuse() => new(
                $"'{source}': tensor '{tensor.Name}' ({where}) refers to external data '{OneLine(location)}', which is not read: " +
                "external data is read only from regular files inside the model's own folder");
            if (root is null || location.Length == 0 || location.Contains('\0') || Path.IsPathRooted(location)) throw Refuse();
            string file = SafePaths.Canonical(Path.Combine(root, location));
            if (!SafePaths.IsLexicallyInside(file, root) || file == root || SafePaths.KindOf(file) != FileKind.Regular) throw Refuse();
            long offset = 0, length = -1;
            if (entries.TryGetValue("offset", out var o) && (!long.TryParse(o, out offset) || offset < 0)) throw Refuse();
            if (entries.TryGetValue("length", out var l) && (!long.TryParse(l, out length) || length < 0)) throw Refuse();
            byte[] bytes;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                if (length < 0) length = stream.Length - offset;
                if (offset > stream.Length || length > stream.Length - offset || length > Array.MaxLength) throw Refuse();
                bytes = new byte[length];
                stream.Seek(offset, SeekOrigin.Begin);
                stream.ReadExactly(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Refuse();
            }
            tensor.RawData = ByteString.CopyFrom(bytes);
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }
    }

    static IEnumerable<(TensorProto, string)> Tensors(GraphProto graph, string where)
    {
        foreach (var t in graph.Initializer) yield return (t, $"{where} initializer");
        foreach (var s in graph.SparseInitializer)
            foreach (var t in Sparse(s, $"{where} sparse initializer")) yield return t;
        foreach (var t in NodeTensors(graph.Node, where)) yield return t;
    }

    static IEnumerable<(TensorProto, string)> NodeTensors(IEnumerable<NodeProto> nodes, string where)
    {
        foreach (var node in nodes)
            foreach (var a in node.Attribute)
            {
                string at = $"{where}, attribute '{a.Name}' of {node.OpType} node '{node.Name}'";
                if (a.T is not null) yield return (a.T, at);
                foreach (var t in a.Tensors) yield return (t, at);
                if (a.SparseTensor is not null) foreach (var t in Sparse(a.SparseTensor, at)) yield return t;
                foreach (var s in a.SparseTensors) foreach (var t in Sparse(s, at)) yield return t;
                if (a.G is not null) foreach (var t in Tensors(a.G, $"{at} subgraph")) yield return t;
                foreach (var g in a.Graphs) foreach (var t in Tensors(g, $"{at} subgraph")) yield return t;
            }
    }

    static IEnumerable<(TensorProto, string)> Sparse(SparseTensorProto s, string where)
    {
        if (s.Values is not null) yield return (s.Values, where);
        if (s.Indices is not null) yield return (s.Indices, where);
    }

    static string OneLine(string s)
    {
        s = s.ReplaceLineEndings(" ");
        return s.Length > 120 ? s[..120] + "…" : s;
    }
}
