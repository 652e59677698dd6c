using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Dashboard.Components.Shared;

/// <summary>
/// A component that acts as the signed-in user. Its <see cref="Aborted"/> token is cancelled when the component goes away
/// (the user navigated on or closed the tab), so database calls it started do not outlive it.
/// </summary>
public abstract class CircuitComponent : ComponentBase, IDisposable
{
    private readonly CancellationTokenSource _aborted = new();
    private Actor? _actor;

    [CascadingParameter]
    private Task<AuthenticationState>? AuthenticationState { get; set; }

    protected CancellationToken Aborted => _aborted.Token;

    protected async Task<Actor> ActorAsync() =>
        await SignedInAsync() ?? throw new InvalidOperationException("This component needs a signed-in user.");

    /// <summary>The signed-in user, or null on a page anyone may open.</summary>
    protected async Task<Actor?> SignedInAsync()
    {
        if (_actor is null && AuthenticationState is not null)
        {
            _actor = Actor.From((await AuthenticationState).User);
        }

        return _actor;
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aborted.Cancel();
            _aborted.Dispose();
        }
    }
}
