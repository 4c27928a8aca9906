import { createContext, useContext } from "react";
import type { ConsoleSettings, Me, RelayApi } from "./api";

export interface ConsoleContext {
  api: RelayApi;
  me: Me;
  settings: ConsoleSettings;
}

export const ConsoleContextValue = createContext<ConsoleContext | undefined>(undefined);

/** The signed-in session; pages render only inside it. */
export function useConsole(): ConsoleContext {
  const value = useContext(ConsoleContextValue);
  if (!value) throw new Error("useConsole outside the signed-in console");
  return value;
}
