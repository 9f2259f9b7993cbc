#nullable enable
using System.Numerics.Tensors;

namespace MLStyle.Optimization;

/// <summary>How <see cref="LbfgsOptimizer"/> stores its correction pairs.</summary>
public enum HistoryPrecision
{
    /// <summary>float32, exactly as computed (the default of <see cref="LbfgsOptions"/>, PyTorch's behaviour).</summary>
    Single,

    /// <summary>
    /// float16 with one float32 scale per vector (the largest magnitude maps to 2¹⁴, so nothing overflows and values down to
    /// 4·10⁻⁹ of the largest stay normal): half the memory, about three significant digits per element. The dot products
    /// and updates of the two-loop recursion run in float32 over converted chunks; ρ and the initial Hessian scale come
    /// from the exact float32 vectors.
    /// </summary>
    Half,
}

/// <summary>One side (all s or all y) of the L-BFGS history: one vector per ring slot.</summary>
internal abstract class HistoryVectors
{
    /// <summary>Allocates <paramref name="capacity"/> vectors of length <paramref name="n"/> (uninitialised).</summary>
    public static HistoryVectors Create(HistoryPrecision precision, int capacity, int n) => precision switch
    {
        HistoryPrecision.Half => new HalfVectors(capacity, n),
        _ => new SingleVectors(capacity, n),
    };

    /// <summary>Bytes per stored element of a history kept at <paramref name="precision"/>.</summary>
    public static int BytesPerElement(HistoryPrecision precision) => precision == HistoryPrecision.Half ? 2 : sizeof(float);

    /// <summary>Bytes per stored element.</summary>
    public abstract int ElementBytes { get; }

    /// <summary>
    /// Stores <paramref name="v"/> in <paramref name="slot"/> and returns the array the caller goes on using as scratch:
    /// float32 storage takes <paramref name="v"/> over and hands back the slot's former array (no copy); float16 storage
    /// converts and hands <paramref name="v"/> back unchanged.
    /// </summary>
    public abstract float[] Store(int slot, float[] v);

    /// <summary>vᵀq of the vector in <paramref name="slot"/>.</summary>
    public abstract float Dot(int slot, ReadOnlySpan<float> q);

    /// <summary>q += a·v of the vector in <paramref name="slot"/>.</summary>
    public abstract void AddScaled(int slot, float a, Span<float> q);

    /// <summary>Keeps the vectors of the slots in <paramref name="order"/>, the one of <c>order[j]</c> now in slot j; the rest are released.</summary>
    public abstract void Reorder(int[] order);

    sealed class SingleVectors : HistoryVectors
    {
        float[][] _v;

        public SingleVectors(int capacity, int n)
        {
            _v = new float[capacity][];
            for (int i = 0; i < capacity; i++) _v[i] = GC.AllocateUninitializedArray<float>(n);
        }

        public override int ElementBytes => BytesPerElement(HistoryPrecision.Single);

        public override float[] Store(int slot, float[] v)
        {
            var old = _v[slot];
            _v[slot] = v;
            return old;
        }

        public override float Dot(int slot, ReadOnlySpan<float> q) => TensorPrimitives.Dot(_v[slot], q);

        public override void AddScaled(int slot, float a, Span<float> q) => TensorPrimitives.MultiplyAdd(_v[slot], a, q, q);

        public override void Reorder(int[] order) => _v = order.Select(i => _v[i]).ToArray();
    }

    sealed class HalfVectors : HistoryVectors
    {
        const int Chunk = 4096;
        const float Top = 16384f; // the largest magnitude of a stored vector, well below float16's 65504
        Half[][] _v;
        float[] _scale;
        readonly float[] _work = new float[Chunk];

        public HalfVectors(int capacity, int n)
        {
            _v = new Half[capacity][];
            for (int i = 0; i < capacity; i++) _v[i] = GC.AllocateUninitializedArray<Half>(n);
            _scale = new float[capacity];
        }

        public override int ElementBytes => BytesPerElement(HistoryPrecision.Half);

        public override float[] Store(int slot, float[] v)
        {
            float max = TensorPrimitives.MaxMagnitude(v);
            max = MathF.Abs(max);
            float scale = max > 0 && float.IsFinite(max) ? max / Top : 1f;
            var dst = _v[slot];
            for (int i = 0; i < v.Length; i += Chunk)
            {
                int len = Math.Min(Chunk, v.Length - i);
                var work = _work.AsSpan(0, len);
                TensorPrimitives.Divide(v.AsSpan(i, len), scale, work);
                TensorPrimitives.ConvertToHalf(work, dst.AsSpan(i, len));
            }
            _scale[slot] = scale;
            return v;
        }

        public override float Dot(int slot, ReadOnlySpan<float> q)
        {
            var src = _v[slot];
            double sum = 0;
            for (int i = 0; i < q.Length; i += Chunk)
            {
                int len = Math.Min(Chunk, q.Length - i);
                var work = _work.AsSpan(0, len);
                TensorPrimitives.ConvertToSingle(src.AsSpan(i, len), work);
                sum += TensorPrimitives.Dot(work, q.Slice(i, len));
            }
            return (float)(sum * _scale[slot]);
        }

        public override void AddScaled(int slot, float a, Span<float> q)
        {
            var src = _v[slot];
            float f = a * _scale[slot];
            for (int i = 0; i < q.Length; i += Chunk)
            {
                int len = Math.Min(Chunk, q.Length - i);
                var work = _work.AsSpan(0, len);
                TensorPrimitives.ConvertToSingle(src.AsSpan(i, len), work);
                var part = q.Slice(i, len);
                TensorPrimitives.MultiplyAdd(work, f, part, part);
            }
        }

        public override void Reorder(int[] order)
        {
            _scale = order.Select(i => _scale[i]).ToArray();
            _v = order.Select(i => _v[i]).ToArray();
        }
    }
}
