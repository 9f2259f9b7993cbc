
namespace MLStyle.Cli;

/// <summary>Console output: messages on stderr, results on stdout, plain text when not on a terminal.</summary>
public static class Output
{
    static readonly IAnsiConsole Err = CreateErr();

    static IAnsiConsole CreateErr()
    {
        var c = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // Redirected output has no width; Spectre would wrap at 80 columns and split an error over several lines.
        if (Console.IsErrorRedirected) c.Profile.Width = 4096;
        return c;
    }

    /// <summary>True when stderr is an interactive terminal (progress bars), false in logs and pipes.</summary>
    public static bool Interactive => !Console.IsErrorRedirected && Err.Profile.Capabilities.Interactive;

    /// <summary>The stderr console.</summary>
    public static IAnsiConsole Stderr => Err;

    /// <summary>One error line (never wrapped, so logs and scripts see exactly one line).</summary>
    public static void Error(string message) => Line("red", "error: ", message);

    /// <summary>One warning line.</summary>
    public static void Warn(string message) => Line("yellow", "warning: ", message);

    /// <summary>An informational line on stderr.</summary>
    public static void Info(string message) => Line(null, "", message);

    static void Line(string? color, string prefix, string message)
    {
        message = message.ReplaceLineEndings(" ");
        if (color is not null && Interactive) Err.MarkupLine($"[{color}]{Markup.Escape(prefix)}[/]{Markup.Escape(message)}");
        else Console.Error.WriteLine(prefix + message);
    }

    /// <summary>Bytes as a human-readable size.</summary>
    public static string Bytes(long b) => b switch
    {
        >= 1L << 30 => $"{b / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{b / (double)(1L << 20):F0} MiB",
        _ => $"{b / 1024.0:F0} KiB",
    };

    /// <summary>A duration as m:ss or h:mm:ss.</summary>
    public static string Duration(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}
