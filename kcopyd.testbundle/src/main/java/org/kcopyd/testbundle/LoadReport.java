package org.kcopyd.testbundle;

import java.util.List;

/**
 * What a continuous load ({@link ConsumerProbe#startLoad}) has done: jobs accepted (the client
 * returned a stage), their outcomes, submissions refused, and every broken promise found.
 * Immutable.
 */
public final class LoadReport {

    private final int accepted;
    private final int succeeded;
    private final int failed;
    private final int pending;
    private final int refused;
    private final List<String> refusals;
    private final List<String> problems;
    private final List<long[]> succeededRegions;

    LoadReport(int accepted, int succeeded, int failed, int pending, int refused, List<String> refusals,
            List<String> problems, List<long[]> succeededRegions) {
        this.accepted = accepted;
        this.succeeded = succeeded;
        this.failed = failed;
        this.pending = pending;
        this.refused = refused;
        this.refusals = List.copyOf(refusals);
        this.problems = List.copyOf(problems);
        this.succeededRegions = List.copyOf(succeededRegions);
    }

    /** @return jobs the client accepted */
    public int accepted() {
        return accepted;
    }

    /** @return accepted jobs that completed with success */
    public int succeeded() {
        return succeeded;
    }

    /** @return accepted jobs that completed with a failure, each naming its reason */
    public int failed() {
        return failed;
    }

    /** @return accepted jobs not completed yet (after {@link ConsumerProbe#stopLoad}: never completed) */
    public int pending() {
        return pending;
    }

    /** @return submissions the client refused (it was closing); they were never accepted */
    public int refused() {
        return refused;
    }

    /** @return each distinct refusal, as "ExceptionClass: message" with the client's name left out */
    public List<String> refusals() {
        return refusals;
    }

    /**
     * @return every broken promise: a job whose callback ran other than once, whose callback and
     *         stage disagree, that failed without a reason, that completed exceptionally, or that
     *         never completed; a submission refused other than for a closed client
     */
    public List<String> problems() {
        return problems;
    }

    /** @return {first sector, sector count} of each job that succeeded: source and target ranges alike */
    public List<long[]> succeededRegions() {
        return succeededRegions;
    }

    @Override
    public String toString() {
        return "LoadReport[accepted " + accepted + ", succeeded " + succeeded + ", failed " + failed + ", pending "
                + pending + ", refused " + refused + " " + refusals + ", problems " + problems.size() + "]";
    }
}
