using System.Diagnostics;
using System.Numerics.Tensors;
using MLStyle.Optimization;
using MLStyle.Runtime;

namespace MLStyle.ML.Internal;

/// <summary>The training loop of <see cref="DenseNetworkTrainer"/>.</summary>
internal static class DenseNetworkTraining
{
    /// <summary>
    /// Minibatch Adam (<see cref="AdamRule"/>) with L2 regularisation on the weights and early stopping on <paramref name="validRows"/>;
    /// <paramref name="net"/> ends with the parameters of the best epoch.
    /// </summary>
    public static (List<DenseNetworkEpoch> History, int BestEpoch, TimeSpan Elapsed) Train(DenseNetwork net, DenseNetworkTrainer.Options o,
        float[] z, int[] y, int[] trainRows, int[] validRows, SessionSettings settings, Random rng)
    {
        int dim = net.Sizes[0], classes = net.Sizes[^1];
        using var train = new OnnxSession(net.TrainingGraph(), settings);
        using var eval = validRows.Length > 0 ? new OnnxSession(net.LogProbabilityGraph(), settings) : null;
        var adam = net.Parameters.Select(p => (M: new float[p.Length], V: new float[p.Length])).ToArray();
        var rule = new AdamRule(o.LearningRate);
        var history = new List<DenseNetworkEpoch>();
        var sw = Stopwatch.StartNew();
        float bestLoss = float.PositiveInfinity;
        int bestEpoch = 0, step = 0;
        float[][]? bestParameters = null;
        var rows = (int[])trainRows.Clone();
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            rng.Shuffle(rows);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < rows.Length; start += o.BatchSize)
            {
                int bs = Math.Min(o.BatchSize, rows.Length - start);
                var (bx, by) = DenseNetworkData.Batch(z, y, rows.AsSpan(start, bs), dim, classes);
                var inputs = net.ParameterInputs();
                inputs[DenseNetwork.Input] = FloatTensor.Of(bx, bs, dim);
                inputs[DenseNetwork.Target] = FloatTensor.Of(by, bs, classes);
                var result = train.Run(inputs, net.TrainingOutputs);
                float loss = result[DenseNetwork.Loss].Data[0];
                if (!float.IsFinite(loss)) throw new InvalidOperationException($"training diverged at epoch {epoch} (loss {loss}); lower LearningRate");
                lossSum += loss;
                batches++;
                step++;
                for (int p = 0; p < net.Parameters.Length; p++)
                {
                    var g = result[DenseNetwork.GradientName(p)].Data;
                    var w = net.Parameters[p];
                    if (o.L2Regularization > 0 && DenseNetwork.IsWeight(p)) TensorPrimitives.MultiplyAdd(w, o.L2Regularization, g, g);
                    rule.Update(w, g, adam[p].M, adam[p].V, step);
                }
            }
            float? validLoss = null, validAccuracy = null;
            if (eval is not null)
            {
                (validLoss, validAccuracy) = Evaluate(eval, net, z, y, validRows, dim, classes);
                if (validLoss < bestLoss)
                {
                    bestLoss = validLoss.Value;
                    bestEpoch = epoch;
                    bestParameters = net.Parameters.Select(p => (float[])p.Clone()).ToArray();
                }
            }
            else bestEpoch = epoch;
            var record = new DenseNetworkEpoch(epoch, (float)(lossSum / Math.Max(1, batches)), validLoss, validAccuracy, sw.Elapsed);
            history.Add(record);
            o.Progress?.Report(record);
            if (eval is not null && o.EarlyStoppingPatience > 0 && epoch - bestEpoch >= o.EarlyStoppingPatience) break;
        }
        if (bestParameters is not null)
            for (int p = 0; p < bestParameters.Length; p++) bestParameters[p].CopyTo(net.Parameters[p], 0);
        return (history, bestEpoch, sw.Elapsed);
    }

    static (float Loss, float Accuracy) Evaluate(OnnxSession eval, DenseNetwork net, float[] z, int[] y, int[] rows, int dim, int classes)
    {
        var (bx, _) = DenseNetworkData.Batch(z, y, rows, dim, classes);
        var inputs = net.ParameterInputs();
        inputs[DenseNetwork.Input] = FloatTensor.Of(bx, rows.Length, dim);
        var logp = eval.Run(inputs, new[] { DenseNetwork.LogProbabilities })[DenseNetwork.LogProbabilities].Data;
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            var row = logp.AsSpan(i * classes, classes);
            loss -= row[y[rows[i]]];
            if (TensorPrimitives.IndexOfMax(row) == y[rows[i]]) correct++;
        }
        return ((float)(loss / rows.Length), correct / (float)rows.Length);
    }
}
