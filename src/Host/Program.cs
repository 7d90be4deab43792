using VApicActors.Host.Cli;

return await new VapicCommandLine(Console.Out, Console.Error).InvokeAsync(args).ConfigureAwait(false);
