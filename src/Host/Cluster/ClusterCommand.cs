using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using VApicActors.Host.Client;
using VApicActors.Host.Service;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Cluster;

/// <summary>
/// <c>vapic cluster [--connect HOST:PORT]</c>: asks a service running in cluster mode for its view of the cluster
/// (the <c>cluster</c> request) and prints the members, and the shards and VMs each node hosts. Exit 0, or 2 when
/// the service cannot be reached or is not in cluster mode.
/// </summary>
public static class ClusterCommand
{
    public const int ExitOk = 0;
    public const int ExitError = 2;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var connect = new Option<string>("--connect")
        {
            Description = "A service of the cluster (vapic serve --cluster)",
            HelpName = "HOST:PORT",
            DefaultValueFactory = _ => ClientCommand.DefaultEndpoint,
        };
        var command = new Command("cluster", "Show the cluster a service belongs to: its members, and the shards and VMs on each node");
        command.Options.Add(connect);
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(connect) ?? ClientCommand.DefaultEndpoint;
            if (!HostPort.TryParseToConnect(text, out var endpoint, out var problem))
            {
                await error.WriteLineAsync($"vapic: --connect: {problem}").ConfigureAwait(false);
                return ExitError;
            }
            string? answer;
            try
            {
                await using var connection = await ServiceConnection.ConnectAsync(endpoint, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
                answer = await connection.RequestAsync("cluster", cancellationToken: ct).ConfigureAwait(false);
                await connection.SendAsync("quit", ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException)
            {
                await error.WriteLineAsync($"vapic: cannot reach the service at {endpoint}: {e.Message}").ConfigureAwait(false);
                return ExitError;
            }
            if (answer is null || !answer.StartsWith("OK ", StringComparison.Ordinal))
            {
                await error.WriteLineAsync($"vapic: the service at {endpoint} answered: {answer ?? "(nothing)"}").ConfigureAwait(false);
                return ExitError;
            }
            await output.WriteAsync(Render(answer[3..])).ConfigureAwait(false);
            return ExitOk;
        });
        return command;
    }

    /// <summary>The table printed for a <c>cluster</c> answer (without its <c>OK </c>).</summary>
    public static string Render(string view)
    {
        var fields = view.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        string Field(string key) => fields.TryGetValue(key, out var v) ? v : "?";
        var shards = PerNode(Field("shards"));
        var vms = PerNode(Field("vms"));
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Cluster seen from {Field("self")}: {Field("members")} {Plural.Noun(Field("members") == "1" ? 1 : 0, "member")}, {Field("up")} up, {Field("unreachable")} unreachable\n");
        text.Append(CultureInfo.InvariantCulture, $"{"node",-24} {"status",-12} {"shards",7} {"VMs",7}\n");
        foreach (var (node, status) in PerNode(Field("nodes")))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{node,-24} {status,-12} {(shards.TryGetValue(node, out var s) ? s : "0"),7} {(vms.TryGetValue(node, out var v) ? v : "0"),7}\n");
        }
        return text.ToString();
    }

    /// <summary><c>HOST:PORT:VALUE,...</c> as node → value, in order.</summary>
    private static Dictionary<string, string> PerNode(string list)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (list is "none" or "?")
        {
            return result;
        }
        foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var cut = item.LastIndexOf(':');
            if (cut > 0)
            {
                result[item[..cut]] = item[(cut + 1)..];
            }
        }
        return result;
    }
}
