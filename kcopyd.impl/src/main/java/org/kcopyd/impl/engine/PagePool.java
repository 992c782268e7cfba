package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.BitSet;

import org.kcopyd.api.KcopydClient;

/**
 * A client's reserved buffer memory: {@code pages} pages of 4 KiB in one page-aligned direct
 * buffer, handed out as runs of contiguous pages (first fit). Allocation is all-or-nothing.
 *
 * <p>Not thread-safe: only the client's worker allocates and frees. {@link #inUse()} may be
 * read from any thread.
 */
final class PagePool {

    static final int PAGE = KcopydClient.PAGE_SIZE;

    private final ByteBuffer owner;
    private final ByteBuffer memory;
    private final int pages;
    private final BitSet used;
    private volatile int inUse;
    private boolean released;

    PagePool(int pages) {
        if (pages < 1) {
            throw new IllegalArgumentException("pages " + pages + " is below the minimum 1");
        }
        this.pages = pages;
        // One spare page lets the aligned view start on a page boundary, as O_DIRECT needs.
        this.owner = ByteBuffer.allocateDirect((pages + 1) * PAGE);
        // The pages, no more: where the memory happens to start on a page boundary, the spare one is left out.
        this.memory = owner.alignedSlice(PAGE).slice(0, pages * PAGE);
        this.used = new BitSet(pages);
    }

    int pages() {
        return pages;
    }

    int inUse() {
        return inUse;
    }

    /**
     * @param n pages wanted, 1..pages()
     * @return the first page of a run of {@code n} free pages, now in use, or -1 if there is none
     */
    int allocate(int n) {
        int from = 0;
        while (true) {
            int start = used.nextClearBit(from);
            if (start > pages - n) {
                return -1;
            }
            int nextUsed = used.nextSetBit(start);
            if (nextUsed < 0 || nextUsed >= start + n) {
                used.set(start, start + n);
                inUse += n;
                return start;
            }
            from = nextUsed;
        }
    }

    void free(int first, int n) {
        assert used.get(first, first + n).cardinality() == n : "double free of pages " + first + "+" + n;
        used.clear(first, first + n);
        inUse -= n;
    }

    /** @return a new view of the whole pool; callers set position and limit per use */
    ByteBuffer view() {
        return memory.duplicate();
    }

    /**
     * Returns the buffer memory to the operating system now rather than at the next garbage
     * collection. Only legal when no page is in use (no device still holds a view).
     */
    void release() {
        if (inUse != 0) {
            throw new IllegalStateException(inUse + " pages still in use");
        }
        if (!released) {
            released = true;
            DirectMemory.free(owner);
        }
    }
}
