using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLStyle.ML.Internal;

/// <summary>The data side of <see cref="DenseNetworkTrainer"/>: reading rows, feature standardisation, minibatches.</summary>
internal static class DenseNetworkData
{
    /// <summary>The usable rows (a label and finite features): features row-major, labels as class indices from 0.</summary>
    public static (float[] X, int[] Y) ReadRows(IDataView input, string featureColumn, string labelColumn, int dim)
    {
        var fCol = input.Schema[featureColumn];
        var lCol = input.Schema[labelColumn];
        var xs = new List<float>();
        var ys = new List<int>();
        using var cursor = input.GetRowCursor(new[] { fCol, lCol });
        var getF = cursor.GetGetter<VBuffer<float>>(fCol);
        var getL = cursor.GetGetter<uint>(lCol);
        VBuffer<float> f = default;
        uint label = 0;
        var dense = new float[dim];
        while (cursor.MoveNext())
        {
            getL(ref label);
            if (label == 0) continue;
            getF(ref f);
            f.CopyTo(dense);
            if (!TensorPrimitives.IsFiniteAll(dense)) continue;
            xs.AddRange(dense);
            ys.Add((int)label - 1);
        }
        return (xs.ToArray(), ys.ToArray());
    }

    /// <summary>The mean and inverse standard deviation of each feature over <paramref name="rows"/>.</summary>
    public static (float[] Mean, float[] InvStd) Standardisation(float[] x, int[] rows, int dim)
    {
        var mean = new double[dim];
        var sq = new double[dim];
        foreach (var r in rows)
            for (int j = 0; j < dim; j++) { double v = x[r * dim + j]; mean[j] += v; sq[j] += v * v; }
        var m = new float[dim];
        var inv = new float[dim];
        for (int j = 0; j < dim; j++)
        {
            double mu = mean[j] / rows.Length;
            double variance = Math.Max(0, sq[j] / rows.Length - mu * mu);
            m[j] = (float)mu;
            inv[j] = variance > 1e-12 ? (float)(1 / Math.Sqrt(variance)) : 1f;
        }
        return (m, inv);
    }

    /// <summary>A minibatch: the features of <paramref name="rows"/> and their one-hot labels.</summary>
    public static (float[] X, float[] Y) Batch(float[] z, int[] y, ReadOnlySpan<int> rows, int dim, int classes)
    {
        var bx = new float[rows.Length * dim];
        var by = new float[rows.Length * classes];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(z, rows[i] * dim, bx, i * dim, dim);
            by[i * classes + y[rows[i]]] = 1f;
        }
        return (bx, by);
    }
}
