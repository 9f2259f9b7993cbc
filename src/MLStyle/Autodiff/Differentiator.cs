using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Autodiff;

/// <summary>
/// Reverse-mode differentiation of ONNX graphs. The gradient is emitted as more ONNX nodes (standard operators only),
/// so the same graph runs on any ONNX Runtime execution provider.
/// </summary>
public static class Differentiator
{
    /// <summary>Operators that have a gradient rule.</summary>
    public static IReadOnlyCollection<string> SupportedOperators => GradientRules.All.Keys.ToArray();

    /// <summary>
    /// Builds the gradient model of the <c>mlstyle grad</c> contract: all of <paramref name="model"/>'s inputs under the same
    /// names plus a float input <c>{y}_seed</c> with Y's shape; outputs <c>y</c> and, for each name N in <paramref name="wrt"/>,
    /// <c>N_grad</c> with N's shape, equal to d(sum(Y ⊙ seed))/dN. The input model is not modified.
    /// </summary>
    public static ModelProto Differentiate(ModelProto model, string y, IReadOnlyList<string> wrt, DifferentiationOptions? options = null)
    {
        options ??= new DifferentiationOptions();
        var m = model.Clone();
        if (OnnxModels.Opset(m) < OnnxModels.TargetOpset) GraphTransforms.UpgradeOpset(m);
        if (options.FoldBatchNorm) GraphTransforms.FoldBatchNormUnless(m, wrt.Append(y).ToArray());
        var b = new GraphBuilder(m);
        if (!b.Exists(y)) throw new ModelException($"model has no tensor named '{y}'");
        var yInfo = b.Info(y) ?? new TensorInfo(ElementType.Float, null);
        var seedName = y + "_seed";
        if (b.Exists(seedName)) throw new ModelException($"model already has a tensor named '{seedName}'");
        b.AddInput(seedName, ElementType.Float, yInfo.Dims, SymbolicNames(yInfo.Dims, y));
        var grads = AddGradients(b, y, seedName, wrt);
        m.Graph.Output.Clear();
        b.AddOutput(y);
        foreach (var w in wrt)
        {
            var name = w + "_grad";
            var g = b.Identity(grads[w], name);
            if (g != name) throw new ModelException($"model already has a tensor named '{name}'");
            var wi = b.Info(w);
            b.AddOutput(name, wi);
        }
        GraphTransforms.RemoveUnusedInitializers(m);
        return m;
    }

    static string[]? SymbolicNames(long[]? dims, string y) =>
        dims?.Select((d, i) => d < 0 ? $"{y}_dim{i}" : "").ToArray();

    /// <summary>
    /// Appends to <paramref name="b"/>'s graph the nodes that compute d(sum(y ⊙ seed))/dw for every w in <paramref name="wrt"/>
    /// and returns the name of each gradient tensor. A null <paramref name="seed"/> means a seed of ones (y must then be a
    /// scalar or the seed is broadcast). Only nodes on a path from some w to y get gradient nodes.
    /// </summary>
    public static IReadOnlyDictionary<string, string> AddGradients(GraphBuilder b, string y, string? seed, IReadOnlyList<string> wrt)
    {
        foreach (var w in wrt)
        {
            if (!b.Exists(w)) throw new ModelException($"model has no tensor named '{w}'");
            if (b.Info(w) is { ElemType: not (ElementType.Float or ElementType.Double or ElementType.Float16) } wi)
                throw new ModelException($"cannot differentiate with respect to '{w}': its element type {wi.ElemType} is not floating point");
        }
        if (!b.Exists(y)) throw new ModelException($"model has no tensor named '{y}'");
        var nodes = b.Graph.Node.ToList();

        // Forward: tensors that depend on some w.
        var active = new HashSet<string>(wrt);
        foreach (var n in nodes)
            if (n.Input.Any(active.Contains))
                foreach (var o in n.Output) if (o.Length > 0) active.Add(o);

        // Backward: nodes between w and y.
        var needed = new HashSet<string> { y };
        var path = new List<NodeProto>();
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var n = nodes[i];
            if (!n.Output.Any(needed.Contains) || !n.Output.Any(active.Contains)) continue;
            path.Add(n);
            foreach (var inp in n.Input) if (inp.Length > 0 && active.Contains(inp)) needed.Add(inp);
        }

        // Refuse an operator without a rule before emitting anything: otherwise a rule further down the path can fail first
        // with a confusing message (e.g. the unknown output shape of the unsupported node).
        for (int i = path.Count - 1; i >= 0; i--)
            if (!GradientRules.All.ContainsKey(path[i].OpType))
                throw new ModelException($"cannot differentiate {path[i].Describe()}: MLStyle has no gradient rule for operator '{path[i].OpType}'");

        var contributions = new Dictionary<string, List<string>>();
        void Contribute(string t, string g)
        {
            if (!contributions.TryGetValue(t, out var list)) contributions[t] = list = new List<string>();
            list.Add(g);
        }
        Contribute(y, seed ?? b.OnesLike(y));

        string? Total(string t)
        {
            if (!contributions.TryGetValue(t, out var list) || list.Count == 0) return null;
            if (list.Count > 1)
            {
                var s = b.Sum(list);
                list.Clear(); list.Add(s);
            }
            return list[0];
        }

        foreach (var n in path) // already in reverse topological order
        {
            var outGrads = n.Output.Select(o => o.Length > 0 ? Total(o) : null).ToArray();
            if (outGrads.All(g => g is null)) continue;
            var needs = n.Input.Select(i => i.Length > 0 && active.Contains(i)).ToArray();
            if (!GradientRules.All.TryGetValue(n.OpType, out var rule))
                throw new ModelException($"cannot differentiate {n.Describe()}: MLStyle has no gradient rule for operator '{n.OpType}'");
            var ctx = new GradientContext(b, n, outGrads, needs);
            var inGrads = rule(ctx);
            for (int i = 0; i < n.Input.Count; i++)
                if (needs[i] && i < inGrads.Length && inGrads[i] is { } g) Contribute(n.Input[i], g);
        }

        var result = new Dictionary<string, string>();
        foreach (var w in wrt) result[w] = Total(w) ?? b.ZerosLike(w);
        return result;
    }
}

/// <summary>Options of <see cref="Differentiator.Differentiate"/>.</summary>
public sealed class DifferentiationOptions
{
    /// <summary>Fold inference BatchNormalization into the preceding Conv before differentiating (default true). BN layers whose
    /// parameters are differentiated are never folded.</summary>
    public bool FoldBatchNorm { get; set; } = true;
}
