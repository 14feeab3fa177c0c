import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { taskFormErrors } from "./formErrors";

describe("taskFormErrors", () => {
  it("puts each schema error next to its field", () => {
    const error = new ApiError(422, "validation_error", "the request does not match the schema", {
      fields: [
        { loc: ["body", "title"], message: "String should have at least 1 character", type: "string_too_short" },
        { loc: ["body", "complexity"], message: "Input should be less than or equal to 10", type: "less_than_equal" },
        { loc: ["body", "capabilities"], message: "Value error, capability 'Bad' must be lower-case", type: "value_error" },
        { loc: ["body", "inputs", "Topic"], message: "Input should be a valid string", type: "string_type" },
      ],
    });
    expect(taskFormErrors(error)).toEqual({
      fields: {
        title: "String should have at least 1 character",
        complexity: "Input should be less than or equal to 10",
        capabilities: "capability 'Bad' must be lower-case",
        inputs: "Topic: Input should be a valid string",
      },
      general: null,
    });
  });

  it("joins two errors of one field", () => {
    const error = new ApiError(422, "validation_error", "bad", {
      fields: [
        { loc: ["body", "capabilities", 0], message: "too long" },
        { loc: ["body", "capabilities", 1], message: "not a tag" },
      ],
    });
    expect(taskFormErrors(error).fields.capabilities).toBe("too long; not a tag");
  });

  it("names an unknown workflow at the workflow field, with the server's hint", () => {
    const error = new ApiError(404, "not_found", ".:1:1: error: no workflow named 'nope'", {
      diagnostics: [{ code: "unknown-workflow", message: "no workflow named 'nope'", hint: "Workflows: research-brief" }],
    });
    expect(taskFormErrors(error)).toEqual({
      fields: { workflow: "no workflow named 'nope'. Workflows: research-brief" },
      general: null,
    });
  });

  it("puts a missing workflow input at the inputs", () => {
    const error = new ApiError(422, "validation_error", "workflow 'research-brief' needs input(s) Topic", {
      error: "invalid_inputs",
      fields: [],
    });
    expect(taskFormErrors(error).fields.inputs).toBe("workflow 'research-brief' needs input(s) Topic");
  });

  it("keeps what no field owns above the form", () => {
    const forbidden = new ApiError(403, "forbidden", "creating tasks needs an operator key");
    expect(taskFormErrors(forbidden)).toEqual({ fields: {}, general: "creating tasks needs an operator key" });
    const extra = new ApiError(422, "validation_error", "bad", {
      fields: [{ loc: ["body", "colour"], message: "Extra inputs are not permitted" }],
    });
    expect(taskFormErrors(extra)).toEqual({ fields: {}, general: "colour: Extra inputs are not permitted" });
    expect(taskFormErrors(new Error("offline")).general).toBe("offline");
  });
});
