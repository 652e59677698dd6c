using Microsoft.Extensions.DependencyInjection;

namespace WorkOrders.Ticketing.Assignment;

public static class AssignmentServices
{
    /// <summary>The assignment feature: rules, the department queue, claim, reassign and working hours.</summary>
    public static IServiceCollection AddAssignment(this IServiceCollection services) =>
        services
            .AddSingleton<AssignmentRules>()
            .AddSingleton<DepartmentQueue>()
            .AddSingleton<ClaimWorkOrder>()
            .AddSingleton<ReassignWorkOrder>()
            .AddSingleton<Schedules>();
}
