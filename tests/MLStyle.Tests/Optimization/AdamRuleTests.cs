using MLStyle.Onnx;
using MLStyle.Optimization;
using MLStyle.Runtime;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Optimization;

/// <summary>The one Adam update: on spans and as ONNX nodes from the same definition.</summary>
public class AdamRuleTests
{
    [Fact]
    public void Coefficients_AreTheBiasCorrections()
    {
        var rule = new AdamRule(0.5f);
        var (s1, c1) = rule.Coefficients(1);
        Assert.Equal(0.5f / 0.1f, s1, 1e-4f);
        Assert.Equal(MathF.Sqrt(0.001f), c1, 1e-6f);
        var (s, c) = rule.Coefficients(100_000);
        Assert.Equal(0.5f, s, 1e-6f);
        Assert.Equal(1f, c, 1e-6f);
    }

    [Fact]
    public void EmittedNodes_FollowTheSpanUpdate_StepByStep()
    {
        const int n = 257, steps = 6;
        var rule = new AdamRule(0.3f, 0.8f, 0.99f, 1e-6f);
        var b = GraphBuilder.Create("adam");
        var iteration = b.Cast(b.AddInput("t", ElementType.Float, Array.Empty<long>()), ElementType.Int64);
        b.SetInfo(iteration, new TensorInfo(ElementType.Int64, Array.Empty<long>()));
        string In(string name) => b.AddInput(name, ElementType.Float, new long[] { n });
        var (x2, m2, v2) = rule.Emit(b, iteration, steps, In("x"), In("g"), In("m"), In("v"));
        foreach (var o in new[] { x2, m2, v2 }) b.AddOutput(o);
        using var session = new OnnxSession(b.Model);

        float[] x = GradCheck.Random(1, n, 3f), m = new float[n], v = new float[n];
        float[] gx = (float[])x.Clone(), gm = new float[n], gv = new float[n];
        for (int t = 1; t <= steps; t++)
        {
            var g = GradCheck.Random(10 + t, n, 2f);
            var r = session.Run(new Dictionary<string, FloatTensor>
            {
                ["t"] = FloatTensor.Of(new float[] { t - 1 }), ["x"] = FloatTensor.Of(gx, n), ["g"] = FloatTensor.Of(g, n),
                ["m"] = FloatTensor.Of(gm, n), ["v"] = FloatTensor.Of(gv, n),
            });
            (gx, gm, gv) = (r[x2].Data, r[m2].Data, r[v2].Data);
            rule.Update(x, (float[])g.Clone(), m, v, t);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(x[i], gx[i], 1e-5f * Math.Max(1f, Math.Abs(x[i])));
                Assert.Equal(m[i], gm[i], 1e-6f * Math.Max(1f, Math.Abs(m[i])));
                Assert.Equal(v[i], gv[i], 1e-6f * Math.Max(1f, Math.Abs(v[i])));
            }
        }
        Assert.NotEqual(GradCheck.Random(1, n, 3f), x); // it moved
    }

    [Fact]
    public void Update_IsWhatAdamOptimizerDoes()
    {
        const int n = 64;
        var options = new AdamOptions { LearningRate = 0.2f, GradientTolerance = 0 };
        var opt = new AdamOptimizer(options);
        float[] x = GradCheck.Random(2, n), y = (float[])x.Clone(), m = new float[n], v = new float[n];
        Objective quadratic = (p, g) => { float l = 0; for (int i = 0; i < p.Length; i++) { g[i] = 2 * p[i] - 1; l += p[i] * p[i] - p[i]; } return l; };
        for (int t = 1; t <= 4; t++)
        {
            opt.Step(x, quadratic);
            var g = new float[n];
            quadratic(y, g);
            options.Rule.Update(y, g, m, v, t);
        }
        Assert.Equal(y, x);
    }
}
