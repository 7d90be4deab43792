using VApicActors.Host.Cli;

return await new VapicCommandLine(StandardOutput.Open(), Console.Error).InvokeAsync(args).ConfigureAwait(false);
