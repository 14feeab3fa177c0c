import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown", () => {
  it("renders headings, lists, code and emphasis", () => {
    const { container } = render(
      <Markdown text={"# Brief\n\nBees **dance** and *hum* `x`.\n\n- one\n- two\n\n1. first\n\n```\ncode <b>\n```"} />,
    );
    expect(screen.getByRole("heading", { name: "Brief" })).toBeInTheDocument();
    expect(container.querySelector("strong")).toHaveTextContent("dance");
    expect(container.querySelector("em")).toHaveTextContent("hum");
    expect(container.querySelectorAll("ul > li")).toHaveLength(2);
    expect(container.querySelectorAll("ol > li")).toHaveLength(1);
    expect(container.querySelector("pre code")).toHaveTextContent("code <b>");
  });

  it("never turns model text into HTML or script links", () => {
    const { container } = render(
      <Markdown text={'<img src=x onerror="alert(1)"> <script>alert(2)</script> [bad](javascript:alert(3)) [ok](https://example.org)'} />,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container.textContent).toContain("<script>alert(2)</script>");
    const links = container.querySelectorAll("a");
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute("href")).toBe("https://example.org");
  });
});
