-- Preventive work proposed by the failure-risk forecast. The forecast itself lives in the warehouse; what planners
-- decide lives here, beside the work orders it creates: a proposal is accepted once (its work order is created in the
-- same transaction), dismissed with a reason, or expires. A dismissed proposal is kept with the evidence that made it,
-- so the same evidence does not propose it again.
CREATE TABLE forecast_proposals (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id            bigint NOT NULL REFERENCES assets (id),
    fault_code          text CHECK (length(fault_code) BETWEEN 1 AND 100),
    probability         double precision NOT NULL CHECK (probability >= 0 AND probability <= 1),
    window_start        timestamptz NOT NULL,
    window_end          timestamptz NOT NULL CHECK (window_end > window_start),
    reasons             jsonb NOT NULL DEFAULT '[]',
    template_id         bigint REFERENCES templates (id),
    estimated_hours     double precision CHECK (estimated_hours >= 0),
    evidence_key        text NOT NULL CHECK (length(evidence_key) BETWEEN 1 AND 200),
    model_version       text NOT NULL,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'dismissed', 'expired')),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    decided_at          timestamptz,
    decided_by          bigint REFERENCES users (id),
    work_order_id       bigint UNIQUE REFERENCES work_orders (id),
    dismiss_reason      text CHECK (dismiss_reason IN ('already_planned', 'not_credible', 'asset_out_of_service', 'no_capacity', 'other')),
    dismiss_note        text CHECK (length(dismiss_note) <= 2000),
    row_version         integer NOT NULL DEFAULT 1,
    CHECK ((status = 'accepted') = (work_order_id IS NOT NULL)),
    CHECK ((status = 'dismissed') = (dismiss_reason IS NOT NULL))
);
-- At most one open proposal per asset and fault mode (NULL: any mode).
CREATE UNIQUE INDEX forecast_proposals_open ON forecast_proposals (asset_id, coalesce(fault_code, '')) WHERE status = 'open';
CREATE INDEX forecast_proposals_dismissed ON forecast_proposals (asset_id, coalesce(fault_code, ''), evidence_key) WHERE status = 'dismissed';
CREATE INDEX forecast_proposals_status ON forecast_proposals (status, probability DESC);

-- The threshold planners tune: scoring proposes work where the risk reaches it.
CREATE TABLE forecast_settings (
    id                  integer PRIMARY KEY CHECK (id = 1),
    threshold           double precision NOT NULL CHECK (threshold > 0 AND threshold < 1),
    updated_at          timestamptz NOT NULL,
    updated_by          bigint REFERENCES users (id)
);
INSERT INTO forecast_settings (id, threshold, updated_at) VALUES (1, 0.5, now());
