#nullable enable
using System.Numerics.Tensors;
using MLStyle.Optimization;

namespace MLStyle.Tests.Optimization;

/// <summary>
/// Straightforward list-based transcription of torch.optim.LBFGS without line search (allocates freely, pops the
/// oldest pair with RemoveAt(0)), using the same float operations in the same order as <see cref="LbfgsOptimizer"/>,
/// so their iterates must agree bit for bit. Used to check the ring buffer and ShrinkHistory.
/// </summary>
internal sealed class ReferenceLbfgs
{
    private readonly List<float[]> _oldDirs = [];
    private readonly List<float[]> _oldStps = [];
    private readonly List<float> _ro = [];
    private readonly float _lr;
    private int _historySize;
    private int _nIter;
    private float[]? _d;
    private float[]? _prevGrad;
    private float _t;
    private float _hDiag = 1f;

    public ReferenceLbfgs(int historySize, float lr = 1f)
    {
        _historySize = historySize;
        _lr = lr;
    }

    public void Shrink(int newSize)
    {
        int drop = _oldDirs.Count - newSize;
        if (drop > 0)
        {
            _oldDirs.RemoveRange(0, drop);
            _oldStps.RemoveRange(0, drop);
            _ro.RemoveRange(0, drop);
        }

        _historySize = newSize;
    }

    public void Step(float[] x, Objective objective)
    {
        var g = new float[x.Length];
        objective(x, g);
        _nIter++;
        if (_nIter == 1)
        {
            _d = new float[x.Length];
            TensorPrimitives.Negate(g, _d);
            _hDiag = 1f;
        }
        else
        {
            var y = new float[x.Length];
            var s = new float[x.Length];
            TensorPrimitives.Subtract(g, _prevGrad, y);
            TensorPrimitives.Multiply(_d, _t, s);
            float ys = TensorPrimitives.Dot(y, s);
            if (ys > 1e-10f)
            {
                if (_oldDirs.Count == _historySize)
                {
                    _oldDirs.RemoveAt(0);
                    _oldStps.RemoveAt(0);
                    _ro.RemoveAt(0);
                }

                _oldDirs.Add(y);
                _oldStps.Add(s);
                _ro.Add(1f / ys);
                _hDiag = ys / TensorPrimitives.Dot(y, y);
            }

            var al = new float[_oldDirs.Count];
            var q = new float[x.Length];
            TensorPrimitives.Negate(g, q);
            for (int i = _oldDirs.Count - 1; i >= 0; i--)
            {
                al[i] = TensorPrimitives.Dot(_oldStps[i], q) * _ro[i];
                TensorPrimitives.MultiplyAdd(_oldDirs[i], -al[i], q, q);
            }

            TensorPrimitives.Multiply(q, _hDiag, q);
            for (int i = 0; i < _oldDirs.Count; i++)
            {
                float be = TensorPrimitives.Dot(_oldDirs[i], q) * _ro[i];
                TensorPrimitives.MultiplyAdd(_oldStps[i], al[i] - be, q, q);
            }

            _d = q;
        }

        _prevGrad = g;
        _t = _nIter == 1 ? MathF.Min(1f, 1f / TensorPrimitives.SumOfMagnitudes(g)) * _lr : _lr;
        TensorPrimitives.MultiplyAdd(_d, _t, x, x);
    }
}
