using System.Text.Json;
using MLStyle.Runtime;

namespace MLStyle.Cli.Commands;

/// <summary>Runs a model a few times under ONNX Runtime's profiler and prints its kernel time per operator and per node.</summary>
static class ProfileSummary
{
    /// <summary>
    /// Profiles <paramref name="runs"/> + 1 runs of <paramref name="model"/> (JSON file prefix <paramref name="prefix"/>) and sums
    /// the kernel times of all runs but the first (which pays one-off allocations), per run.
    /// </summary>
    public static (Dictionary<string, double> ByOp, Dictionary<string, double> ByNode, string Path) Run(global::Onnx.ModelProto model,
        Dictionary<string, FloatTensor> inputs, SessionSettings settings, string prefix, int runs = 3)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(prefix))!);
        string path;
        using (var p = new OnnxSession(model, settings with { ProfilePrefix = prefix }))
        {
            for (int i = 0; i <= runs; i++) p.Run(inputs);
            path = p.EndProfiling();
        }
        var byOp = new Dictionary<string, double>();
        var byNode = new Dictionary<string, double>();
        using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
        {
            var events = doc.RootElement.EnumerateArray().ToList();
            double warmEnd = events.Where(e => e.GetProperty("name").GetString() == "model_run")
                .Select(e => e.GetProperty("ts").GetDouble() + e.GetProperty("dur").GetDouble()).DefaultIfEmpty(0).Min();
            foreach (var e in events)
            {
                if (e.GetProperty("ts").GetDouble() < warmEnd) continue;
                if (e.GetProperty("cat").GetString() != "Node" || !e.TryGetProperty("args", out var a) || !a.TryGetProperty("op_name", out var op)) continue;
                var name = e.GetProperty("name").GetString()!;
                if (!name.EndsWith("_kernel_time")) continue;
                double ms = e.GetProperty("dur").GetDouble() / 1000 / runs;
                byOp[op.GetString()!] = byOp.GetValueOrDefault(op.GetString()!) + ms;
                byNode[name[..^"_kernel_time".Length]] = byNode.GetValueOrDefault(name[..^"_kernel_time".Length]) + ms;
            }
        }
        double total = byOp.Values.Sum();
        Output.Info($"  profile {path}: {total:F0} ms of kernels per run; by operator: " +
                    string.Join(", ", byOp.OrderByDescending(k => k.Value).Take(12).Select(k => $"{k.Key} {k.Value:F0} ms ({100 * k.Value / total:F0}%)")));
        Output.Info("  costliest nodes: " + string.Join(", ", byNode.OrderByDescending(k => k.Value).Take(12).Select(k => $"{k.Key} {k.Value:F0} ms")));
        return (byOp, byNode, path);
    }
}
