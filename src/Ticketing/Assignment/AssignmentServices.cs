using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace WorkOrders.Ticketing.Assignment;

public static class AssignmentServices
{
    /// <summary>The assignment feature: rules, the department queue, claim, reassign, working hours and the kept loads.</summary>
    public static IServiceCollection AddAssignment(this IServiceCollection services)
    {
        services.AddOptions<AssigneeLoadOptions>().BindConfiguration(AssigneeLoadOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services
            .AddSingleton<AssigneeLoads>()
            .AddSingleton<IHostedService>(sp => sp.GetRequiredService<AssigneeLoads>())
            .AddSingleton<AssignmentRules>()
            .AddSingleton<DepartmentQueue>()
            .AddSingleton<ClaimWorkOrder>()
            .AddSingleton<ReassignWorkOrder>()
            .AddSingleton<Schedules>();
    }
}
