using WorkOrders.Ingest;

return await Cli.RunAsync(args);
