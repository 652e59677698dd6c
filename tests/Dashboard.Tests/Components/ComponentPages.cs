using Bunit;
using Radzen;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>What every page and component of the dashboard needs to render under bUnit: Radzen, the UI text, and JS calls that answer nothing.</summary>
internal static class ComponentPages
{
    public static void UseDashboardComponents(this BunitContext context)
    {
        // The components read a real database; bUnit's 1 s default for a wait ran out while the machine was busy.
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddRadzenComponents();
        context.Services.AddUiText();
    }
}
