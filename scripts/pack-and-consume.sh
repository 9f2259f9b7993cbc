#!/usr/bin/env bash
# Packs MLStyle, MLStyle.ML and the mlstyle tool to a local feed, then uses them the way a team would:
#  1. a fresh console app (dotnet new console) referencing MLStyle.ML from that feed only (third-party packages from the
#     usual registry) computes style features of image files, trains a DenseNetwork and runs permutation feature importance;
#  2. the tool is installed from the feed (dotnet tool install --tool-path … --add-source …) and runs `mlstyle stylize`
#     from another folder.
# Usage: scripts/pack-and-consume.sh [--keep] [--gpu]
#   --keep  keep the temporary folder (feed, consumer app, installed tool) and print where it is
#   --gpu   also build the consumer with Microsoft.ML.OnnxRuntime.Gpu added (the CUDA flavour) and check its output
# MLSTYLE_TOOL_RIDS (default: this machine's RID) limits the platform packages of the tool that are packed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
keep=0; gpu=0
for a in "$@"; do case "$a" in --keep) keep=1 ;; --gpu) gpu=1 ;; *) echo "error: unknown argument '$a'" >&2; exit 2 ;; esac; done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/mlstyle-pack.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
rids=${MLSTYLE_TOOL_RIDS:-$rid}
feed=$work/feed
version=$(dotnet msbuild "$repo/src/MLStyle/MLStyle.csproj" -getProperty:Version)
step() { echo "== $*"; }

step "pack $version to $feed (tool platforms: $rids)"
dotnet pack "$repo/MLStyle.sln" -c Release -o "$feed" -p:MLStyleToolRids="$rids" -nologo -v:q -clp:ErrorsOnly
ls -l "$feed"

# Our packages come from the feed alone (package source mapping); the rest from the usual registry. Restores go to a
# private packages folder, reading the machine's cache as a fallback, so a stale copy of this version is never used.
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <fallbackPackageFolders><add key="machine" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" /></fallbackPackageFolders>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="MLStyle" /><package pattern="MLStyle.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
unset NUGET_PACKAGES

step "fresh console app referencing MLStyle.ML $version"
app=$work/app
dotnet new console -o "$app" -n StyleConsumer --framework net10.0 >/dev/null
cp "$repo/scripts/consumer/Program.cs" "$app/Program.cs"
(cd "$app" && dotnet add package MLStyle.ML --version "$version" --no-restore >/dev/null)
dotnet build "$app" -c Release -o "$app/out" --configfile "$work/nuget.config" -nologo -v:q -clp:ErrorsOnly
test -f "$app/out/DnnImageModels/ResNet18Onnx/ResNet18.onnx" || { echo "error: ResNet18 did not reach the consumer's output" >&2; exit 1; }
echo "consumer output: $(du -sh "$app/out" | cut -f1)"
images=("$repo"/samples/content/*.png "$repo"/samples/style/*.png "$repo"/samples/textures/*.png)
step "run the consumer on ${#images[@]} images"
(cd "$work" && dotnet "$app/out/StyleConsumer.dll" "${images[@]}")

if [ "$gpu" = 1 ]; then
  step "CUDA flavour: the consumer adds Microsoft.ML.OnnxRuntime.Gpu"
  ortv=$(unzip -p "$feed/MLStyle.$version.nupkg" MLStyle.nuspec | grep -o 'id="Microsoft.ML.OnnxRuntime.Managed" version="[^"]*"' | sed 's/.*version="\([^"]*\)"/\1/')
  (cd "$app" && dotnet add package Microsoft.ML.OnnxRuntime.Gpu --version "$ortv" --no-restore >/dev/null)
  dotnet build "$app" -c Release -o "$app/out-gpu" --configfile "$work/nuget.config" -nologo -v:q -clp:ErrorsOnly
  if [ "${rid#linux}" != "$rid" ]; then
    native=$app/out-gpu/runtimes/$rid/native
    test -f "$native/libonnxruntime_providers_cuda.so" || { echo "error: the CUDA provider is missing from the GPU flavour's output" >&2; exit 1; }
    # The GPU build of libonnxruntime.so exports the CUDA entry point; the CPU build does not.
    grep -aq OrtSessionOptionsAppendExecutionProvider_CUDA "$native/libonnxruntime.so" || { echo "error: the GPU flavour got the CPU build of libonnxruntime.so" >&2; exit 1; }
  fi
  echo "consumer output (CUDA flavour): $(du -sh "$app/out-gpu" | cut -f1)"
  (cd "$work" && dotnet "$app/out-gpu/StyleConsumer.dll" "${images[@]}")
fi

step "install the mlstyle tool from the feed"
# (--add-source cannot be combined with package source mapping: the tool gets a configuration without it.)
sed '/packageSourceMapping/,/\/packageSourceMapping/d; /key="local"/d' "$work/nuget.config" > "$work/tool.config"
dotnet tool install MLStyle.Tool --version "$version" --tool-path "$work/tools" --add-source "$feed" --configfile "$work/tool.config"
echo "installed tool: $(du -sh "$work/tools" | cut -f1)"
mkdir -p "$work/elsewhere"
step "mlstyle stylize from another folder"
(cd "$work/elsewhere" && "$work/tools/mlstyle" stylize --content "$repo/samples/content/chelsea.png" --style "$repo/samples/style/swirls.png" \
    --output styled.png --size 48 --iterations 3)
test -s "$work/elsewhere/styled.png" || { echo "error: mlstyle stylize wrote no image" >&2; exit 1; }
step "pack and consume: ok"
