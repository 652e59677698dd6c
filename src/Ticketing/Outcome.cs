namespace WorkOrders.Ticketing;

/// <summary>Why a request was refused. Each kind maps to one HTTP status in <see cref="Api.Problems"/>.</summary>
public enum FailureKind
{
    Validation,
    NotFound,
    Forbidden,
    Conflict,
    IllegalTransition,
}

/// <summary>An expected refusal: bad input, a missing thing, a rule that says no. Never an exception.</summary>
public sealed record Failure(FailureKind Kind, string Message, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    public static Failure Invalid(string field, string reason) =>
        new(FailureKind.Validation, $"{field}: {reason}", new Dictionary<string, string[]> { [field] = [reason] });

    public static Failure Invalid(IReadOnlyDictionary<string, string[]> errors) =>
        new(FailureKind.Validation, string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")), errors);

    public static Failure NotFound(string what) => new(FailureKind.NotFound, $"{what} was not found.");

    public static Failure Forbidden(string why) => new(FailureKind.Forbidden, why);

    /// <summary>An optimistic-concurrency refusal: the thing moved on since the caller read it.</summary>
    public static Failure Stale(string what, int current, int? sent) =>
        new(FailureKind.Conflict, $"{what} was changed by someone else (it is at version {current}, you sent {sent}). Reload it and try again.");
}

/// <summary>Either a value or a <see cref="Failure"/>.</summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, Failure? failure)
    {
        Value = value;
        Failure = failure;
    }

    public T? Value { get; }

    public Failure? Failure { get; }

    public bool Succeeded => Failure is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);
}

/// <summary>Collects field errors in the order they were found.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string reason)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            list = [];
            _errors[field] = list;
        }

        list.Add(reason);
    }

    public Failure ToFailure() => Failure.Invalid(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
}
