package org.kcopyd.control.internal.http;

/**
 * What the handler answers: a status and a JSON document ({@code application/json; charset=utf-8}).
 *
 * @param status the HTTP status
 * @param json   the body, a JSON object
 * @param allow  for 405, the methods the path allows ({@code Allow} header), else null
 */
public record ApiResponse(int status, String json, String allow) {
}
