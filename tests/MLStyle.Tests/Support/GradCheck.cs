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
    /// Differentiates <paramref name="model"/>'s output <paramref name="y"/> w.r.t. the named graph inputs, then compares
    /// every analytic gradient entry (or <paramref name="maxCoords"/> sampled entries per input) with a central difference
    /// of sum(Y ⊙ seed). Returns the worst relative error found; asserts it is below <paramref name="tolerance"/>.
    /// </summary>
    public static double Check(ModelProto model, string y, IReadOnlyDictionary<string, FloatTensor> inputs, IReadOnlyList<string> wrt,
        double h = 1e-2, double tolerance = 2e-2, int maxCoords = 40, int seed = 1, DifferentiationOptions? options = null, double floorFraction = 1e-2)
    {
        var gradModel = Differentiator.Differentiate(model, y, wrt, options);
        using var fwd = new OnnxSession(model);
        using var gsess = new OnnxSession(gradModel);

        // Shape of Y from a forward run; seed of the same shape.
        var y0 = fwd.Run(inputs, new[] { y })[y];
        var seedT = FloatTensor.Of(Random(seed + 1000, y0.Data.Length), y0.Shape);
        var gin = new Dictionary<string, FloatTensor>(inputs) { [y + "_seed"] = seedT };
        var outs = gsess.Run(gin, wrt.Select(w => w + "_grad").Prepend(y).ToList());
        // The gradient model computes Y itself; ONNX Runtime may fuse its nodes differently, so allow float rounding.
        double yScale = y0.Data.Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max();
        for (int i = 0; i < y0.Data.Length; i++) Assert.True(Math.Abs(y0.Data[i] - outs[y].Data[i]) <= 1e-5 * Math.Max(1, yScale), $"Y[{i}]: {y0.Data[i]} vs {outs[y].Data[i]}");

        double worst = 0;
        var rng = new Random(seed);
        foreach (var w in wrt)
        {
            var grad = outs[w + "_grad"];
            var x = inputs[w];
            Assert.Equal(x.Shape, grad.Shape);
            var coords = x.Data.Length <= maxCoords ? Enumerable.Range(0, x.Data.Length).ToArray()
                : Enumerable.Range(0, maxCoords).Select(_ => rng.Next(x.Data.Length)).Distinct().ToArray();
            double gradScale = grad.Data.Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max();
            foreach (var j in coords)
            {
                double num = Numeric(fwd, inputs, w, j, y, seedT, h);
                double ana = grad.Data[j];
                double err = Math.Abs(num - ana) / Math.Max(floorFraction * Math.Max(gradScale, 1e-3), Math.Max(Math.Abs(num), Math.Abs(ana)));
                if (err > worst) worst = err;
                Assert.True(err < tolerance, $"d{y}/d{w}[{j}]: analytic {ana:G6}, numeric {num:G6} (rel err {err:G3}, grad scale {gradScale:G3})");
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

    static double Numeric(OnnxSession fwd, IReadOnlyDictionary<string, FloatTensor> inputs, string w, int j, string y, FloatTensor seed, double h)
    {
        double Eval(float delta)
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
        float hf = (float)h;
        return (Eval(hf) - Eval(-hf)) / (2 * h);
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

    /// <summary>Builds a model: the callback adds inputs and nodes and returns the output name.</summary>
    public static ModelProto Build(Func<GraphBuilder, string> body)
    {
        var b = GraphBuilder.Create();
        var y = body(b);
        b.AddOutput(y);
        return b.Model;
    }

    /// <summary>Random inputs for every graph input of a model.</summary>
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
