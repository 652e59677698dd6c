using System.Globalization;
using System.Resources;

namespace WorkOrders.Ticketing;

/// <summary>Why a request was refused. Each kind maps to one HTTP status in <see cref="Api.Problems"/>.</summary>
public enum FailureKind
{
    Validation,
    NotFound,
    Forbidden,
    Conflict,
    IllegalTransition,

    /// <summary>What the request names existed once and is gone for good (410): start again from a fresh copy.</summary>
    Gone,
}

/// <summary>
/// A reason the core gives: a stable code a client can act on, and the values its text names. The texts are in
/// Resources/Refusals.resx and one Refusals.{culture}.resx per language; the edge renders them in the reader's language.
/// </summary>
public sealed record Refusal(string Code, params object?[] Args)
{
    private static readonly ResourceManager Texts = new("WorkOrders.Ticketing.Resources.Refusals", typeof(Refusal).Assembly);

    /// <summary>
    /// The text in a language, with any refusal among the values in the same language. An unknown code shows as
    /// itself, so a missing text never hides the refusal.
    /// </summary>
    public string ToText(CultureInfo culture) => Texts.GetString(Code, culture) is { } pattern
        ? string.Format(culture, pattern, [.. Args.Select(a => a is Refusal inner ? inner.ToText(culture) : a)])
        : Code;

    /// <summary>The English text, for logs, the command line and files.</summary>
    public override string ToString() => ToText(CultureInfo.InvariantCulture);

    public bool Equals(Refusal? other) => other is not null && Code == other.Code && Args.SequenceEqual(other.Args);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Code);
}

/// <summary>An expected refusal: bad input, a missing thing, a rule that says no. Never an exception.</summary>
public sealed record Failure(FailureKind Kind, Refusal Reason, IReadOnlyDictionary<string, Refusal[]>? Errors = null)
{
    public static Failure Invalid(string field, string code, params object?[] args) => Invalid(field, new Refusal(code, args));

    public static Failure Invalid(string field, Refusal reason) => Invalid(new Dictionary<string, Refusal[]> { [field] = [reason] });

    public static Failure Invalid(IReadOnlyDictionary<string, Refusal[]> errors) => new(FailureKind.Validation, new Refusal("problem.validation"), errors);

    public static Failure NotFound(string code, params object?[] args) => new(FailureKind.NotFound, new Refusal(code, args));

    public static Failure Forbidden(string code, params object?[] args) => new(FailureKind.Forbidden, new Refusal(code, args));

    /// <summary>A conflict with the current state, such as an optimistic-concurrency refusal: the thing moved on since the caller read it.</summary>
    public static Failure Conflict(string code, params object?[] args) => new(FailureKind.Conflict, new Refusal(code, args));

    public static Failure Illegal(string code, params object?[] args) => new(FailureKind.IllegalTransition, new Refusal(code, args));

    public static Failure Gone(string code, params object?[] args) => new(FailureKind.Gone, new Refusal(code, args));

    /// <summary>The one refusal to show where there is room for one: the first field's reason, else the reason itself.</summary>
    public Refusal Main => Errors?.Values.SelectMany(reasons => reasons).FirstOrDefault() ?? Reason;

    /// <summary>The English description, for logs and the command line.</summary>
    public string Message => Describe(CultureInfo.InvariantCulture);

    /// <summary>Each field's reasons as texts in a language, in the order they were found.</summary>
    public IReadOnlyDictionary<string, string[]> Texts(CultureInfo culture) =>
        (Errors ?? new Dictionary<string, Refusal[]>()).ToDictionary(e => e.Key, e => e.Value.Select(r => r.ToText(culture)).ToArray(), StringComparer.Ordinal);

    /// <summary>What is wrong in a language: each field with its reasons, or the reason itself.</summary>
    public string Describe(CultureInfo culture) => Errors is null
        ? Reason.ToText(culture)
        : string.Join(" ", Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value.Select(r => r.ToText(culture)))}"));
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
    private readonly Dictionary<string, List<Refusal>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string code, params object?[] args) => Add(field, new Refusal(code, args));

    public void Add(string field, Refusal reason)
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
