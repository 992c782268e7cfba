package org.kcopyd.control.internal.http;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AccessCheckTest {

    @Test
    void aTokenMustBe64HexadecimalCharacters() {
        assertThatThrownBy(() -> new AccessCheck("abc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("64 hexadecimal");
        assertThatThrownBy(() -> new AccessCheck("g".repeat(64))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AccessCheck(null)).isInstanceOf(IllegalArgumentException.class);
        new AccessCheck("A".repeat(64)).checkToken("Bearer " + "a".repeat(64));
    }

    @Test
    void aLongerOrShorterTokenIsRefused() {
        AccessCheck check = new AccessCheck("a".repeat(64));
        assertThatThrownBy(() -> check.checkToken("Bearer " + "a".repeat(65))).isInstanceOf(ApiError.class);
        assertThatThrownBy(() -> check.checkToken("Bearer " + "a".repeat(63))).isInstanceOf(ApiError.class);
        assertThatThrownBy(() -> check.checkToken("Bearer")).isInstanceOf(ApiError.class);
        assertThatThrownBy(() -> check.checkToken("")).isInstanceOf(ApiError.class);
    }
}
