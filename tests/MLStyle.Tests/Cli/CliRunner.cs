#nullable enable
using System.Diagnostics;
using System.Text;
using MLStyle.Cli;

namespace MLStyle.Tests.Cli;

/// <summary>The outcome of one <c>mlstyle</c> invocation.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The non-empty stderr lines.</summary>
    public IReadOnlyList<string> ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts the exit code and that stderr is exactly one <c>error:</c> line containing <paramref name="fragment"/>, with no stack trace.</summary>
    public void AssertOneError(int exitCode, string fragment)
    {
        Assert.True(ExitCode == exitCode, $"exit code {ExitCode}, expected {exitCode}; stderr: {Stderr}");
        Assert.True(ErrorLines.Count == 1, $"expected one stderr line, got {ErrorLines.Count}: {Stderr}");
        Assert.StartsWith("error: ", ErrorLines[0]);
        Assert.Contains(fragment, ErrorLines[0], StringComparison.OrdinalIgnoreCase);
        AssertNoStackTrace();
    }

    /// <summary>Asserts that neither stream shows a stack trace or an internal error.</summary>
    public void AssertNoStackTrace()
    {
        foreach (var text in new[] { Stdout, Stderr })
        {
            Assert.DoesNotContain("   at ", text);
            Assert.DoesNotContain("internal error", text);
            Assert.DoesNotContain("Exception", text);
        }
    }
}

/// <summary>
/// Runs the real <c>mlstyle</c> entry point in-process with captured stdout and stderr. Console output is routed per
/// asynchronous flow (the threads the command starts inherit it), so tests running in parallel keep their output apart.
/// </summary>
public static class CliRunner
{
    static readonly AsyncLocal<StringWriter?> OutCapture = new(), ErrCapture = new();

    static CliRunner()
    {
        // Installed before the CLI's console is first created, so it writes through these writers.
        Console.SetOut(new RoutingWriter(OutCapture, Console.Out));
        Console.SetError(new RoutingWriter(ErrCapture, Console.Error));
    }

    /// <summary>Runs <c>mlstyle args…</c> in this process.</summary>
    public static CliResult Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        OutCapture.Value = o;
        ErrCapture.Value = e;
        try
        {
            var entry = typeof(ExitCodes).Assembly.EntryPoint ?? throw new InvalidOperationException("MLStyle.Cli has no entry point");
            int code = (int)entry.Invoke(null, [args])!;
            return new CliResult(code, o.ToString(), e.ToString());
        }
        finally
        {
            OutCapture.Value = null;
            ErrCapture.Value = null;
        }
    }

    /// <summary>Starts <c>dotnet MLStyle.Cli.dll args…</c> as a separate process with redirected stdout and stderr.</summary>
    public static Process StartProcess(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MLStyle.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("MLSTYLE_DEBUG"); // errors must stay one line
        return Process.Start(psi)!;
    }

    /// <summary>Runs <c>dotnet MLStyle.Cli.dll args…</c> as a separate process.</summary>
    public static CliResult RunProcess(params string[] args)
    {
        using var p = StartProcess(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("mlstyle did not finish in 2 minutes");
        }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    sealed class RoutingWriter(AsyncLocal<StringWriter?> capture, TextWriter fallback) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        TextWriter Target => (TextWriter?)capture.Value ?? fallback;

        public override void Write(char value)
        {
            var t = Target;
            lock (t) t.Write(value);
        }

        public override void Write(string? value)
        {
            var t = Target;
            lock (t) t.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            var t = Target;
            lock (t) t.Write(buffer, index, count);
        }

        public override void WriteLine(string? value)
        {
            var t = Target;
            lock (t) t.WriteLine(value);
        }

        public override void Flush() => Target.Flush();
    }
}
