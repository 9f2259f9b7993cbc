using MLStyle;

namespace MLStyle.Cli;

/// <summary>The documented exit codes of <c>mlstyle</c>.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected internal error (a bug: please report it).</summary>
    public const int InternalError = 1;

    /// <summary>Bad input: invalid options, missing or unreadable files, a model without the requested layer.</summary>
    public const int BadInput = 2;

    /// <summary>A batch finished, but some images failed (each is reported).</summary>
    public const int PartialFailure = 3;

    /// <summary>The optimisation diverged (NaN/Inf); the last good image was written.</summary>
    public const int Diverged = 4;

    /// <summary>The optimisation ran but did not lower the loss (even after falling back from L-BFGS to Adam); the image was written.</summary>
    public const int NoProgress = 6;

    /// <summary>Out of memory.</summary>
    public const int OutOfMemory = 5;

    /// <summary>Stopped by Ctrl+C; no partial files are left behind.</summary>
    public const int Cancelled = 130;

    /// <summary>Prints one line for an exception and returns its exit code.</summary>
    public static int Report(Exception ex)
    {
        while (ex is AggregateException { InnerExceptions.Count: 1 } ae) ex = ae.InnerException!;
        switch (ex)
        {
            case Engines.MemoryLimitException:
                Output.Error(ex.Message);
                return OutOfMemory;
            case MLStyleException:
                Output.Error(ex.Message);
                return BadInput;
            case CommandParseException or CommandRuntimeException or CommandConfigurationException:
                Output.Error(ex.Message + " (see mlstyle --help)");
                return BadInput;
            case OperationCanceledException:
                Output.Error("cancelled");
                return Cancelled;
            case OutOfMemoryException or InsufficientExecutionStackException:
                Output.Error("out of memory: try a smaller --size, --optimizer adam, or --tile");
                return OutOfMemory;
            default:
                Output.Error($"internal error: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
                if (Environment.GetEnvironmentVariable("MLSTYLE_DEBUG") == "1") Console.Error.WriteLine(ex);
                return InternalError;
        }
    }
}
