namespace MLStyle;

/// <summary>
/// An error caused by the user's input (a file, a model, an option) rather than by a bug.
/// Its message is a single line meant to be shown as-is; the CLI prints it without a stack trace.
/// </summary>
public class MLStyleException : Exception
{
    /// <summary>Creates an error with a one-line message.</summary>
    public MLStyleException(string message) : base(message) { }

    /// <summary>Creates an error with a one-line message and the underlying cause.</summary>
    public MLStyleException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model problem: not ONNX, missing tensors or layers, unsupported operators.</summary>
public class ModelException : MLStyleException
{
    /// <inheritdoc />
    public ModelException(string message) : base(message) { }

    /// <inheritdoc />
    public ModelException(string message, Exception inner) : base(message, inner) { }
}
