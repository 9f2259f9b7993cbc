using MLStyle.Autodiff;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

namespace MLStyle.Tests.Support;

/// <summary>Checks analytic gradients from <see cref="Differentiator"/> against central finite differences.</summary>
public static class GradCheck
{
    /// <summary>Deterministic normal-ish random values.</summary>
    public static float[] Random(int seed, long count, float scale = 1f, float offset = 0f)
    {
        var r = new Random(seed);
        var a = new float[count];
        for (long i = 0; i < count; i++)
        {
            double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
            a[i] = offset + scale * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    /// <summary>
    /// Distinct values in shuffled order: (k + ½)·<paramref name="gap"/> for k = −count/2 … count/2 − 1, so any two differ by at
    /// least <paramref name="gap"/> and none is closer than gap/2 to zero. With gap &gt; 2h a finite-difference step never crosses
    /// a kink of Relu or changes the arg-max of MaxPool.
    /// </summary>
    public static float[] Spaced(int seed, long count, float gap = 0.05f, float offset = 0f)
    {
        var a = new float[count];
        for (long i = 0; i < count; i++) a[i] = offset + (i - count / 2 + 0.5f) * gap;
        new Random(seed).Shuffle(a);
        return a;
    }

    /// <summary>A random tensor of the given shape.</summary>
    public static FloatTensor Tensor(int seed, long[] shape, float scale = 1f, float offset = 0f) =>
        FloatTensor.Of(Random(seed, shape.Aggregate(1L, (a, b) => a * b), scale, offset), shape);

    /// <summary>A tensor of <see cref="Spaced"/> values.</summary>
    public static FloatTensor SpacedTensor(int seed, long[] shape, float gap = 0.05f, float offset = 0f) =>
        FloatTensor.Of(Spaced(seed, shape.Aggregate(1L, (a, b) => a * b), gap, offset), shape);

    /// <summary>
    /// Differentiates <paramref name="model"/>'s output <paramref name="y"/> w.r.t. <paramref name="wrt"/> (graph inputs or
    /// initializers), asserts that the gradient graph uses only standard opset-17 operators, then compares every analytic
    /// gradient entry (or <paramref name="maxCoords"/> sampled entries per tensor) with a central difference of sum(Y ⊙ seed).
    /// Returns the worst relative error found; asserts it is below <paramref name="tolerance"/>.
    /// </summary>
    public static double Check(ModelProto model, string y, IReadOnlyDictionary<string, FloatTensor> inputs, IReadOnlyList<string> wrt,
        double h = 1e-2, double tolerance = 2e-2, int maxCoords = 40, int seed = 1, DifferentiationOptions? options = null,
        bool relativeStep = false, bool kinks = false, IReadOnlyDictionary<string, double>? steps = null, double floorFraction = 1e-2)
    {
        var gradModel = Differentiator.Differentiate(model, y, wrt, options);
        AssertStandardOnnx(gradModel);
        return CheckWith(model, gradModel, y, new[] { inputs }, wrt, h, tolerance, maxCoords, seed, relativeStep, kinks, steps, floorFraction);
    }

    /// <summary>
    /// Like <see cref="Check"/> but with a gradient model built once and several input sets run through it
    /// (for example even and odd spatial sizes through a model with symbolic dimensions).
    /// </summary>
    public static double CheckWith(ModelProto model, ModelProto gradModel, string y, IReadOnlyList<IReadOnlyDictionary<string, FloatTensor>> inputSets,
        IReadOnlyList<string> wrt, double h = 1e-2, double tolerance = 2e-2, int maxCoords = 40, int seed = 1,
        bool relativeStep = false, bool kinks = false, IReadOnlyDictionary<string, double>? steps = null, double floorFraction = 1e-2)
    {
        // Finite differences need every differentiated tensor to be a graph input of the forward model: promote initializers.
        var fdModel = model.Clone();
        var promoted = new Dictionary<string, FloatTensor>();
        foreach (var w in wrt)
        {
            var init = fdModel.Graph.Initializer.FirstOrDefault(t => t.Name == w);
            if (init is null) continue;
            promoted[w] = FloatTensor.Of(TensorProtos.ToFloats(init), init.Dims.ToArray());
            fdModel.Graph.Initializer.Remove(init);
            if (fdModel.Graph.Input.All(i => i.Name != w))
                fdModel.Graph.Input.Add(GraphBuilder.MakeValueInfo(w, ElementType.Float, init.Dims.ToArray(), null));
        }
        using var fwd = new OnnxSession(fdModel);
        using var gsess = new OnnxSession(gradModel);
        double worst = 0;
        foreach (var inputs in inputSets)
        {
            var fdInputs = new Dictionary<string, FloatTensor>(inputs);
            foreach (var (k, v) in promoted) fdInputs[k] = v;

            // Shape of Y from a forward run; seed of the same shape.
            var y0 = fwd.Run(fdInputs, new[] { y })[y];
            var seedT = FloatTensor.Of(Random(seed + 1000, y0.Data.Length), y0.Shape);
            var gin = new Dictionary<string, FloatTensor>(inputs) { [y + "_seed"] = seedT };
            var outs = gsess.Run(gin, wrt.Select(w => w + "_grad").Prepend(y).ToList());
            AssertClose(y0, outs[y], 1e-4, $"forward output '{y}' of the gradient model");

            var rng = new Random(seed);
            foreach (var w in wrt)
            {
                var grad = outs[w + "_grad"];
                var x = fdInputs[w];
                Assert.Equal(x.Shape, grad.Shape);
                var coords = x.Data.Length <= maxCoords ? Enumerable.Range(0, x.Data.Length).ToArray()
                    : Enumerable.Range(0, maxCoords).Select(_ => rng.Next(x.Data.Length)).Distinct().ToArray();
                double gradScale = grad.Data.Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max();
                double Err(double num, double ana) =>
                    Math.Abs(num - ana) / Math.Max(floorFraction * Math.Max(gradScale, 1e-3), Math.Max(Math.Abs(num), Math.Abs(ana)));
                // A step relative to the tensor's scale (root mean square), e.g. for weights much smaller than the input.
                // steps overrides the step of individual tensors (absolute).
                double hw = steps is not null && steps.TryGetValue(w, out var hs) ? hs
                    : relativeStep ? h * Math.Max(1e-3, Math.Sqrt(x.Data.Average(v => (double)v * v))) : h;
                double f0 = kinks ? Objective(fwd, fdInputs, w, 0, 0f, y, seedT) : 0;
                int kinked = 0;
                var kinkNotes = new List<string>();
                foreach (var j in coords)
                {
                    double ana = grad.Data[j];
                    var (num, fPlus, fMinus, step) = Numeric(fwd, fdInputs, w, j, y, seedT, hw);
                    double err = Err(num, ana);
                    if (err >= tolerance && kinks) kinkNotes.Add($"[{j}] analytic {ana:G4} numeric {num:G4}");
                    if (err >= tolerance && kinks && Kinked(j, ana, fPlus, fMinus, step)) { kinked++; continue; }
                    if (err >= tolerance && kinks)
                    {
                        // Retry once with a third of the step: fewer switches fit in a smaller interval.
                        var (num3, fPlus3, fMinus3, step3) = Numeric(fwd, fdInputs, w, j, y, seedT, hw / 3);
                        if (Err(num3, ana) < tolerance || Kinked(j, ana, fPlus3, fMinus3, step3)) { kinked++; continue; }
                    }
                    if (err > worst) worst = err;
                    Assert.True(err < tolerance, $"d{y}/d{w}[{j}] (shape [{string.Join(",", x.Shape)}]): analytic {ana:G6}, numeric {num:G6} (rel err {err:G3}, grad scale {gradScale:G3}, h {hw:G3})");
                }

                // A Relu or MaxPool switch between x − h and x + h (a kink) spoils the central difference but not the one-sided
                // difference on the other side. Accept only when the two one-sided differences clearly disagree and the analytic
                // value matches one of them.
                bool Kinked(int j, double ana, double fPlus, double fMinus, double step)
                {
                    double fwdD = (fPlus - f0) / (step / 2), bwdD = (f0 - fMinus) / (step / 2);
                    return Err(fwdD, bwdD) > 2 * tolerance && Math.Min(Err(fwdD, ana), Err(bwdD, ana)) < tolerance;
                }
                Assert.True(kinked * 5 <= coords.Length, $"d{y}/d{w}: {kinked} of {coords.Length} sampled coordinates straddle a kink or needed a smaller step; use a smaller step ({string.Join("; ", kinkNotes)}; grad scale {gradScale:G3}, h {hw:G3}, input shape [{string.Join(",", x.Shape)}])");
            }
        }
        return worst;
    }

    /// <summary>
    /// Compares the analytic directional derivative ⟨∂f/∂x, v⟩ with a central difference along a random direction v, where
    /// f = sum(Y ⊙ seed). Robust on networks with many kinks. Returns the relative error.
    /// </summary>
    public static double CheckDirectional(ModelProto model, string y, IReadOnlyDictionary<string, FloatTensor> inputs, string wrt,
        double h = 1e-2, double tolerance = 1e-2, int seed = 3)
    {
        var gradModel = Differentiator.Differentiate(model, y, new[] { wrt });
        using var fwd = new OnnxSession(model);
        using var gsess = new OnnxSession(gradModel);
        var y0 = fwd.Run(inputs, new[] { y })[y];
        var seedT = FloatTensor.Of(Random(seed + 1000, y0.Data.Length), y0.Shape);
        var grad = gsess.Run(new Dictionary<string, FloatTensor>(inputs) { [y + "_seed"] = seedT }, new[] { wrt + "_grad" })[wrt + "_grad"].Data;
        var x = inputs[wrt];
        var v = Random(seed, x.Data.Length);
        double analytic = 0;
        for (int i = 0; i < v.Length; i++) analytic += (double)grad[i] * v[i];
        double Eval(double t)
        {
            var d = x.Data.Select((xv, i) => (float)(xv + t * v[i])).ToArray();
            var yv = fwd.Run(new Dictionary<string, FloatTensor>(inputs) { [wrt] = new FloatTensor(d, x.Shape) }, new[] { y })[y].Data;
            double s = 0;
            for (int i = 0; i < yv.Length; i++) s += (double)yv[i] * seedT.Data[i];
            return s;
        }
        double numeric = (Eval(h) - Eval(-h)) / (2 * h);
        double err = Math.Abs(numeric - analytic) / Math.Max(Math.Abs(numeric), Math.Abs(analytic));
        Assert.True(err < tolerance, $"directional derivative: analytic {analytic:G6}, numeric {numeric:G6} (rel err {err:G3})");
        return err;
    }

    static double Objective(OnnxSession fwd, IReadOnlyDictionary<string, FloatTensor> inputs, string w, int j, float delta, string y, FloatTensor seed)
    {
        var x = inputs[w];
        var data = (float[])x.Data.Clone();
        data[j] += delta;
        var d = new Dictionary<string, FloatTensor>(inputs) { [w] = new FloatTensor(data, x.Shape) };
        var yv = fwd.Run(d, new[] { y })[y].Data;
        double s = 0;
        for (int i = 0; i < yv.Length; i++) s += (double)yv[i] * seed.Data[i];
        return s;
    }

    /// <summary>Central difference of sum(Y ⊙ seed) along entry <paramref name="j"/> of <paramref name="w"/>.</summary>
    static (double Value, double FPlus, double FMinus, double Step) Numeric(OnnxSession fwd, IReadOnlyDictionary<string, FloatTensor> inputs,
        string w, int j, string y, FloatTensor seed, double h)
    {
        float hf = (float)h;
        float xj = inputs[w].Data[j];
        double fp = Objective(fwd, inputs, w, j, hf, y, seed), fm = Objective(fwd, inputs, w, j, -hf, y, seed);
        // Divide by the step actually taken (x ± h rounded to float), not the nominal 2h.
        double step = (double)(xj + hf) - (double)(xj - hf);
        return ((fp - fm) / step, fp, fm, step);
    }

    /// <summary>Asserts equal shapes and values equal within <paramref name="rel"/> of the larger tensor's max magnitude.</summary>
    public static void AssertClose(FloatTensor expected, FloatTensor actual, double rel, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double scale = Math.Max(1e-6, expected.Data.Concat(actual.Data).Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max());
        for (int i = 0; i < expected.Data.Length; i++)
        {
            double e = Math.Abs(expected.Data[i] - (double)actual.Data[i]) / scale;
            Assert.True(e <= rel, $"{what}[{i}]: expected {expected.Data[i]:G6}, got {actual.Data[i]:G6} (rel err {e:G3} of max {scale:G3})");
        }
    }

    /// <summary>Asserts that a model uses only the default ONNX domain at opset 17 (no contrib or custom operators).</summary>
    public static void AssertStandardOnnx(ModelProto m)
    {
        Assert.All(m.OpsetImport, o => Assert.True(string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx", $"opset import of domain '{o.Domain}'"));
        Assert.Equal(OnnxModels.TargetOpset, OnnxModels.Opset(m));
        Assert.All(m.Graph.Node, n => Assert.True(string.IsNullOrEmpty(n.Domain), $"{n.OpType} node '{n.Name}' has domain '{n.Domain}'"));
    }

    /// <summary>Runs a gradient model (seed of ones unless given) and returns its outputs.</summary>
    public static Dictionary<string, FloatTensor> RunGradient(ModelProto gradModel, string y, IReadOnlyDictionary<string, FloatTensor> inputs, FloatTensor seed)
    {
        using var s = new OnnxSession(gradModel);
        var gin = new Dictionary<string, FloatTensor>(inputs) { [y + "_seed"] = seed };
        return s.Run(gin);
    }

    /// <summary>A one-node model: inputs declared with shapes, output "Y".</summary>
    public static ModelProto OneNode(string op, (string Name, long[] Shape)[] inputs, params (string, object)[] attrs) =>
        Build(b =>
        {
            foreach (var (n, s) in inputs) b.AddInput(n, ElementType.Float, s);
            var node = new NodeProto { OpType = op, Name = "node" };
            node.Input.AddRange(inputs.Select(i => i.Name));
            node.Output.Add("Y");
            foreach (var (k, v) in attrs) node.Attribute.Add(Attributes.Make(k, v));
            b.AddNode(node);
            return "Y";
        });

    /// <summary>Adds a node named after its operator with the given inputs and attributes; returns its output.</summary>
    public static string Op(this GraphBuilder b, string op, string[] inputs, params (string, object)[] attrs) =>
        b.Node(op, inputs, null, attrs);

    /// <summary>Builds a model: the callback adds inputs and nodes and returns the output name.</summary>
    public static ModelProto Build(Func<GraphBuilder, string> body)
    {
        var b = GraphBuilder.Create();
        var y = body(b);
        b.AddOutput(y);
        return b.Model;
    }

    /// <summary>Random inputs for every graph input of a model (all dimensions must be fixed).</summary>
    public static Dictionary<string, FloatTensor> RandomInputs(ModelProto m, int seed = 7, float scale = 1f)
    {
        var d = new Dictionary<string, FloatTensor>();
        int k = 0;
        foreach (var i in m.Graph.Input)
        {
            var dims = i.Type.TensorType.Shape.Dim.Select(x => x.DimValue).ToArray();
            d[i.Name] = FloatTensor.Of(Random(seed + 17 * k++, dims.Aggregate(1L, (a, b) => a * b), scale), dims);
        }
        return d;
    }
}
