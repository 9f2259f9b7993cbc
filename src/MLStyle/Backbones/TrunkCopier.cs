using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Backbones;

/// <summary>
/// Copies (inlines) whole ONNX graphs into a graph under construction: backbone trunks and graphs built on them, such as
/// DeepDream objectives. Initializers with the same name and the same contents (a backbone's weights) are stored once and
/// shared by every copy; everything else gets fresh names.
/// </summary>
public sealed class TrunkCopier
{
    readonly GraphBuilder _b;
    readonly Dictionary<string, List<(TensorProto Tensor, string Name)>> _initializers = new();

    /// <summary>A copier appending to <paramref name="b"/>.</summary>
    public TrunkCopier(GraphBuilder b) => _b = b;

    /// <summary>
    /// Appends the nodes of <paramref name="trunk"/> (a <see cref="Backbone.Trunk"/> or a pruned copy of it) reading
    /// <paramref name="input"/> instead of <see cref="Backbone.InputName"/>. Returns trunk tensor name → name in the graph.
    /// </summary>
    public Dictionary<string, string> Append(ModelProto trunk, string input, string prefix) =>
        Inline(trunk, new Dictionary<string, string> { [Backbone.InputName] = input }, prefix);

    /// <summary>
    /// Appends the nodes of <paramref name="model"/>, feeding its graph inputs from <paramref name="inputs"/> (graph input name →
    /// tensor in the graph under construction). Returns the model's tensor names → names in the graph.
    /// </summary>
    public Dictionary<string, string> Inline(ModelProto model, IReadOnlyDictionary<string, string> inputs, string prefix)
    {
        var map = new Dictionary<string, string>(inputs);
        foreach (var t in model.Graph.Initializer)
            if (!map.ContainsKey(t.Name)) map[t.Name] = Shared(t);
        foreach (var i in model.Graph.Input)
            if (!map.ContainsKey(i.Name)) throw new ModelException($"graph input '{i.Name}' of '{model.Graph.Name}' is not fed");
        foreach (var n in model.Graph.Node)
        {
            var c = n.Clone();
            c.Name = _b.UniqueName(prefix + (string.IsNullOrEmpty(n.Name) ? n.OpType : n.Name));
            for (int i = 0; i < c.Input.Count; i++)
                if (c.Input[i].Length > 0)
                    c.Input[i] = map.TryGetValue(c.Input[i], out var m) ? m
                        : throw new ModelException($"tensor '{c.Input[i]}' of '{model.Graph.Name}' is used before it is computed");
            for (int i = 0; i < c.Output.Count; i++)
                if (c.Output[i].Length > 0) c.Output[i] = map[n.Output[i]] = _b.UniqueName(prefix + n.Output[i]);
            _b.AddNode(c);
        }
        return map;
    }

    string Shared(TensorProto t)
    {
        if (!_initializers.TryGetValue(t.Name, out var list)) _initializers[t.Name] = list = new();
        foreach (var (known, name) in list)
            if (known.DataType == t.DataType && known.Dims.SequenceEqual(t.Dims) && known.RawData.Equals(t.RawData)
                && known.FloatData.SequenceEqual(t.FloatData) && known.Int64Data.SequenceEqual(t.Int64Data) && known.Int32Data.SequenceEqual(t.Int32Data))
                return name;
        var copy = t.Clone();
        var added = _b.Initializer(copy, t.Name);
        list.Add((copy, added));
        return added;
    }
}
