using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace MLStyle.Cli;

/// <summary>
/// Spectre's help, except that a branch with a default command (<c>mlstyle bench</c>) lists that command's options, which
/// are the options the branch accepts.
/// </summary>
public sealed class DefaultCommandHelp(ICommandAppSettings settings) : HelpProvider(settings)
{
    /// <inheritdoc />
    public override IEnumerable<IRenderable> GetOptions(ICommandModel model, ICommandInfo? command) =>
        base.GetOptions(model, command is { IsBranch: true, DefaultCommand: { } defaultCommand } ? defaultCommand : command);
}
