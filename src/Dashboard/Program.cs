using WorkOrders.Dashboard;
using WorkOrders.Ingest;
using WorkOrders.Ticketing;

var builder = WebApplication.CreateBuilder(args);
builder.AddTicketing();
builder.AddIngest();
builder.AddDashboard();

var app = builder.Build();
if (args is ["add-user", ..])
{
    return await UserCommand.RunAsync(app.Services, args[1..]);
}

app.UseDashboard();
await app.RunAsync();
return 0;

/// <summary>The entry point, named so that tests can host the app in-process.</summary>
public partial class Program;
