using WorkOrders.Dashboard;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;

if (args is [UserCommand.Name, ..])
{
    return await UserCommand.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddTicketing();
builder.AddIngest();
builder.AddDashboard();

var app = builder.Build();
app.UseDashboard();
await app.RunAsync();
return 0;

/// <summary>The entry point, named so that tests can host the app in-process.</summary>
public partial class Program;
