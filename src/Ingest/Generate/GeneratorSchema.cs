using Dapper;
using Npgsql;

namespace WorkOrders.Ingest.Generate;

/// <summary>
/// The ground truth behind generated histories, in the PostgreSQL schema "generator" that the generator owns (the live
/// application neither reads nor writes it). The work orders alone say what people recorded; forecasts are scored
/// against what really happened: when each failure occurred, which assets were wearing out and from when, and the
/// failure laws they were drawn from. The generator creates the tables on its first run; a database from before kept
/// its tables, which the Ticketing migration 0011 moved here.
/// </summary>
internal static class GeneratorSchema
{
    private const string Create = """
        CREATE SCHEMA IF NOT EXISTS generator;

        -- One row per generator run. Each run makes its own organisation whose names carry the tag (e.g. G7R1).
        CREATE TABLE IF NOT EXISTS generator.runs (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tag             text NOT NULL UNIQUE,
            seed            integer NOT NULL,
            options         jsonb NOT NULL,
            window_start    timestamptz NOT NULL,
            window_end      timestamptz NOT NULL,
            counts          jsonb NOT NULL DEFAULT '{}',
            created_at      timestamptz NOT NULL DEFAULT now()
        );

        -- The Weibull law of each failure mode of an asset type: time between failures in stress-days, where a
        -- stress-day runs faster in summer (summer_amplitude) and on degrading assets; preventive maintenance removes
        -- pm_effect of the mode's effective age.
        CREATE TABLE IF NOT EXISTS generator.failure_modes (
            run_id              bigint NOT NULL REFERENCES generator.runs (id),
            asset_type          text NOT NULL,
            fault_code          text NOT NULL,
            shape               double precision NOT NULL,
            scale_days          double precision NOT NULL,
            pm_effect           double precision NOT NULL,
            summer_amplitude    double precision NOT NULL,
            PRIMARY KEY (run_id, asset_type, fault_code)
        );

        -- Assets that wear out: from starts_at their stress clock runs 1 + stress_per_year * (years since starts_at) times faster.
        CREATE TABLE IF NOT EXISTS generator.degradations (
            run_id              bigint NOT NULL REFERENCES generator.runs (id),
            asset_id            bigint PRIMARY KEY REFERENCES public.assets (id),
            starts_at           timestamptz NOT NULL,
            stress_per_year     double precision NOT NULL
        );

        -- Every true failure and the corrective work order that records it (reported a little after the failure itself).
        CREATE TABLE IF NOT EXISTS generator.failures (
            run_id          bigint NOT NULL REFERENCES generator.runs (id),
            work_order_id   bigint PRIMARY KEY REFERENCES public.work_orders (id),
            asset_id        bigint NOT NULL REFERENCES public.assets (id),
            fault_code      text NOT NULL,
            failed_at       timestamptz NOT NULL
        );
        CREATE INDEX IF NOT EXISTS failures_asset ON generator.failures (asset_id, failed_at);
        """;

    /// <summary>Creates the schema and its tables where they are missing; call it holding the generator's lock, in a transaction of its own.</summary>
    public static Task EnsureAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(Create, transaction: transaction, cancellationToken: cancellationToken));
}
