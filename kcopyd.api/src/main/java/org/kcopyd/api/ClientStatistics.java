package org.kcopyd.api;

/**
 * A snapshot of a client's counters. Counters only grow, except the gauges (waiting,
 * in flight, pages in use).
 *
 * @param jobsSubmitted  jobs accepted since the client was created (copy, zero, prepared)
 * @param jobsWaiting    accepted jobs that have not started any I/O yet (waiting for pages)
 * @param jobsInFlight   accepted jobs not yet completed (including waiting ones)
 * @param jobsCompleted  jobs whose completion has been delivered
 * @param jobsFailed     completed jobs that reported a read or write error
 * @param bytesRead      bytes read from sources
 * @param bytesWritten   bytes written to destinations (counted once per destination)
 * @param pagesInUse     pages currently holding job data
 * @param pages          pages reserved by the client
 */
public record ClientStatistics(long jobsSubmitted, long jobsWaiting, long jobsInFlight, long jobsCompleted,
        long jobsFailed, long bytesRead, long bytesWritten, int pagesInUse, int pages) {
}
