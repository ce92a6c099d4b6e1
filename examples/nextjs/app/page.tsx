import Link from "next/link";

export default function Home() {
  return (
    <>
      <h1>Portcullis + Next.js</h1>
      <p>
        <Link href="/login">Sign in</Link> · <Link href="/register">Create an account</Link> ·{" "}
        <Link href="/dashboard">Dashboard</Link>
      </p>
    </>
  );
}
