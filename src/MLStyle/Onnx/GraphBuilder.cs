using Onnx;

namespace MLStyle.Onnx;

/// <summary>
/// Adds nodes, initializers, inputs and outputs to an ONNX graph with unique names, and keeps
/// static shape information (<see cref="TensorInfo"/>) for every tensor it can infer.
/// The builder edits the <see cref="ModelProto"/> it was given in place.
/// </summary>
public sealed partial class GraphBuilder
{
    readonly HashSet<string> _names = new();
    readonly Dictionary<string, TensorInfo> _info = new();
    readonly Dictionary<string, TensorProto> _constants = new();
    readonly Dictionary<string, string> _constantCache = new();
    int _counter;

    /// <summary>The model being edited.</summary>
    public ModelProto Model { get; }

    /// <summary>The main graph of <see cref="Model"/>.</summary>
    public GraphProto Graph => Model.Graph;

    /// <summary>The default-domain opset of the model.</summary>
    public long Opset => Model.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 0;

    /// <summary>Wraps <paramref name="model"/> and infers shapes for its existing nodes.</summary>
    public GraphBuilder(ModelProto model)
    {
        Model = model;
        foreach (var i in Graph.Input) { _names.Add(i.Name); if (FromValueInfo(i) is { } ti) _info[i.Name] = ti; }
        foreach (var t in Graph.Initializer) { _names.Add(t.Name); _constants[t.Name] = t; _info[t.Name] = new TensorInfo(t.DataType, t.Dims.ToArray()); }
        foreach (var v in Graph.ValueInfo) if (FromValueInfo(v) is { } ti) _info.TryAdd(v.Name, ti);
        foreach (var n in Graph.Node)
        {
            if (!string.IsNullOrEmpty(n.Name)) _names.Add(n.Name);
            foreach (var o in n.Output) _names.Add(o);
            Infer(n);
        }
        foreach (var o in Graph.Output) _names.Add(o.Name);
    }

    /// <summary>Creates a builder for a new, empty model at the given opset.</summary>
    public static GraphBuilder Create(string graphName = "graph", long opset = OnnxModels.TargetOpset)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "MLStyle", Graph = new GraphProto { Name = graphName } };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return new GraphBuilder(m);
    }

    /// <summary>Static information about a tensor, or null when nothing is known.</summary>
    public TensorInfo? Info(string name) => _info.TryGetValue(name, out var t) ? t : null;

    /// <summary>The static shape of a tensor, or null when its rank is unknown.</summary>
    public long[]? Dims(string name) => Info(name)?.Dims;

    /// <summary>The rank of a tensor; throws when unknown.</summary>
    public int Rank(string name) => Info(name)?.Rank is int r and >= 0 ? r
        : throw new ModelException($"the rank of tensor '{name}' is unknown");

    /// <summary>The constant value of a tensor (initializer or Constant node), or null.</summary>
    public TensorProto? ConstantValue(string name) => _constants.TryGetValue(name, out var t) ? t : null;

    /// <summary>True when a tensor of that name exists in the graph.</summary>
    public bool Exists(string name) => _names.Contains(name);

    /// <summary>Records static information for a tensor (overrides inference).</summary>
    public void SetInfo(string name, TensorInfo info) => _info[name] = info;

    /// <summary>Returns a name, derived from <paramref name="hint"/>, that no tensor or node uses yet.</summary>
    public string UniqueName(string hint)
    {
        hint = string.IsNullOrEmpty(hint) ? "t" : hint;
        if (_names.Add(hint)) return hint;
        while (true)
        {
            var n = $"{hint}__{++_counter}";
            if (_names.Add(n)) return n;
        }
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string op, IEnumerable<string> inputs, string? outputHint = null, params (string Name, object Value)[] attributes)
        => NodeMulti(op, inputs, 1, outputHint, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] NodeMulti(string op, IEnumerable<string> inputs, int outputs, string? outputHint = null, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = UniqueName($"{op}_{_counter}") };
        node.Input.AddRange(inputs);
        var outNames = new string[outputs];
        for (int i = 0; i < outputs; i++) outNames[i] = UniqueName(outputHint is null ? $"{op.ToLowerInvariant()}_out" : (i == 0 ? outputHint : $"{outputHint}_{i}"));
        node.Output.AddRange(outNames);
        foreach (var (name, value) in attributes) node.Attribute.Add(Attributes.Make(name, value));
        Graph.Node.Add(node);
        Infer(node);
        return outNames;
    }

    /// <summary>Appends an existing node (its names must be unique) and infers its outputs.</summary>
    public void AddNode(NodeProto node)
    {
        if (!string.IsNullOrEmpty(node.Name)) _names.Add(node.Name);
        foreach (var o in node.Output) _names.Add(o);
        Graph.Node.Add(node);
        Infer(node);
    }

    /// <summary>Re-runs shape inference for one node (after editing it).</summary>
    public void Infer(NodeProto node)
    {
        if (node.OpType == "Constant" && node.Find("value")?.T is { } value && node.Output.Count == 1)
        {
            var copy = value.Clone();
            copy.Name = node.Output[0];
            _constants[node.Output[0]] = copy;
        }
        var outs = ShapeInference.Infer(node, Info, ConstantValue);
        for (int i = 0; i < outs.Length; i++)
            if (outs[i] is { } ti && node.Output[i].Length > 0) _info[node.Output[i]] = ti;
    }

    /// <summary>Adds an initializer (a constant tensor stored in the model) and returns its name.</summary>
    public string Initializer(TensorProto tensor, string? hint = null)
    {
        tensor.Name = UniqueName(hint ?? (string.IsNullOrEmpty(tensor.Name) ? "const" : tensor.Name));
        Graph.Initializer.Add(tensor);
        _constants[tensor.Name] = tensor;
        _info[tensor.Name] = new TensorInfo(tensor.DataType, tensor.Dims.ToArray());
        return tensor.Name;
    }

    /// <summary>A float constant of the given shape.</summary>
    public string Constant(float[] data, long[] dims, string? hint = null) =>
        Initializer(TensorProtos.FromFloats("", data, dims), hint ?? "const");

    /// <summary>A float scalar constant (shared between uses).</summary>
    public string Scalar(float value)
    {
        var key = $"f:{BitConverter.SingleToInt32Bits(value)}";
        if (_constantCache.TryGetValue(key, out var n)) return n;
        return _constantCache[key] = Initializer(TensorProtos.FromFloats("", new[] { value }), "scalar");
    }

    /// <summary>A 1-D int64 constant (shared between uses).</summary>
    public string Ints(params long[] values)
    {
        var key = "i:" + string.Join(",", values);
        if (_constantCache.TryGetValue(key, out var n)) return n;
        return _constantCache[key] = Initializer(TensorProtos.FromInt64s("", values, values.Length), "ints");
    }

    /// <summary>A rank-0 int64 constant (shared between uses).</summary>
    public string IntScalar(long value)
    {
        var key = "is:" + value;
        if (_constantCache.TryGetValue(key, out var n)) return n;
        return _constantCache[key] = Initializer(TensorProtos.FromInt64s("", new[] { value }), "int");
    }

    /// <summary>Declares a graph input.</summary>
    public string AddInput(string name, int elemType, long[]? dims, string[]? symbolicNames = null)
    {
        if (!_names.Add(name) && Graph.Input.Any(i => i.Name == name)) throw new ModelException($"graph already has an input '{name}'");
        Graph.Input.Add(MakeValueInfo(name, elemType, dims, symbolicNames));
        _info[name] = new TensorInfo(elemType, dims);
        return name;
    }

    /// <summary>Declares a graph output for an existing tensor.</summary>
    public void AddOutput(string name, TensorInfo? info = null)
    {
        if (Graph.Output.Any(o => o.Name == name)) return;
        info ??= Info(name);
        Graph.Output.Add(MakeValueInfo(name, info?.ElemType ?? ElementType.Float, info?.Dims, null));
    }

    /// <summary>Makes a value-info record; unknown dimensions get <paramref name="symbolicNames"/> or stay anonymous.</summary>
    public static ValueInfoProto MakeValueInfo(string name, int elemType, long[]? dims, string[]? symbolicNames)
    {
        var tt = new TypeProto.Types.Tensor { ElemType = elemType };
        if (dims is not null)
        {
            tt.Shape = new TensorShapeProto();
            for (int i = 0; i < dims.Length; i++)
            {
                var d = new TensorShapeProto.Types.Dimension();
                if (dims[i] >= 0) d.DimValue = dims[i];
                else if (symbolicNames is not null && i < symbolicNames.Length && symbolicNames[i] is { Length: > 0 } s) d.DimParam = s;
                tt.Shape.Dim.Add(d);
            }
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tt } };
    }

    /// <summary>Reads a value-info record into a <see cref="TensorInfo"/>.</summary>
    public static TensorInfo? FromValueInfo(ValueInfoProto v)
    {
        if (v.Type?.TensorType is not { } tt) return null;
        long[]? dims = tt.Shape is null ? null : tt.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L).ToArray();
        return new TensorInfo(tt.ElemType, dims);
    }
}
