namespace MLStyle.ML.Internal;

/// <summary>
/// Catalog methods take (outputColumnName, inputColumnName, …) first and files after them, as ML.NET's own do. A call
/// written with the file second names a "column" that is an existing file and a "file" that is not: it is told so here,
/// instead of failing later on a missing column or file.
/// </summary>
internal static class ArgumentOrder
{
    public static void CheckFileAfterColumns(string parameter, string file, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(file, parameter);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName, nameof(inputColumnName));
        if (!File.Exists(file) && File.Exists(inputColumnName))
            throw new ArgumentException($"'{inputColumnName}' is a file and '{file}' is not: the arguments are (outputColumnName, " +
                                        $"inputColumnName, {parameter}), columns first as in every ML.NET catalog method", parameter);
    }
}
