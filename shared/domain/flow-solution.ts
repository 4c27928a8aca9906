/**
 * A workflow's flow as an unmanaged Dataverse solution, laid out as `pac solution unpack` lays
 * one out, for Solutions > Import in the Power Apps or Power Automate portal. Ids and names are
 * derived from store and workflow, so importing it again updates the same solution and flow.
 */
import { createHash } from "node:crypto";
import { APPROVALS_API_ID, cloudFlowId, flowClientData, type FlowTemplate } from "./flow-template";

export const PUBLISHER = {
  uniqueName: "dmflowrelay",
  displayName: "DM flow relay",
  prefix: "dmrelay",
  optionValuePrefix: 63_841,
};
const LANGUAGE = 1033;
/** Solution component type of a process (workflow). */
const WORKFLOW_COMPONENT = 29;

export interface SolutionInput {
  storeId: string;
  workflowId: string;
  /** The flow's display name in Power Automate. */
  flowName: string;
  template: FlowTemplate;
}

export interface SolutionPackage {
  uniqueName: string;
  /** The name to download the zip as. */
  fileName: string;
  /** Path in the zip → content; the order is the order in the zip. */
  files: Map<string, string>;
}

const xml = (text: string): string =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");

/** A solution's unique name: a letter first, then letters, digits and underscores. */
export function solutionUniqueName(storeId: string, workflowId: string): string {
  const hash = createHash("sha256").update(`${storeId}\n${workflowId}`).digest("hex").slice(0, 8);
  const readable = `${storeId}_${workflowId}`.replace(/[^A-Za-z0-9]+/g, "_").slice(0, 40);
  return `DmRelay_${readable}_${hash}`;
}

export function buildSolution(input: SolutionInput): SolutionPackage {
  const flowId = cloudFlowId(input.storeId, input.workflowId);
  const uniqueName = solutionUniqueName(input.storeId, input.workflowId);
  // pac names a flow's file after its display name without spaces and punctuation.
  const flowFile = `Workflows/${input.flowName.replace(/[^A-Za-z0-9]/g, "") || "Flow"}-${flowId.toUpperCase()}.json`;
  const files = new Map<string, string>([
    ["[Content_Types].xml", contentTypes()],
    ["solution.xml", solutionXml(uniqueName, input.flowName, flowId)],
    ["customizations.xml", customizationsXml(input, flowId, `/${flowFile}`)],
    [flowFile, flowClientData(input.template)],
  ]);
  return { uniqueName, fileName: `${uniqueName}_1_0_0_0.zip`, files };
}

function contentTypes(): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="xml" ContentType="application/octet-stream" />
  <Default Extension="json" ContentType="application/octet-stream" />
</Types>
`;
}

/**
 * Only the flow is a root component: a connection reference's component type number differs from
 * one environment to the next, and customizations.xml carries it anyway.
 */
function solutionXml(uniqueName: string, flowName: string, flowId: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml version="9.2.0.0" SolutionPackageVersion="9.2" languagecode="${LANGUAGE}" generatedBy="CrmLive" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <SolutionManifest>
    <UniqueName>${uniqueName}</UniqueName>
    <LocalizedNames>
      <LocalizedName description="${xml(`DM relay: ${flowName}`)}" languagecode="${LANGUAGE}" />
    </LocalizedNames>
    <Descriptions>
      <Description description="A Power Automate approval flow for Directory Manager, relayed by dm-flow-relay." languagecode="${LANGUAGE}" />
    </Descriptions>
    <Version>1.0.0.0</Version>
    <Managed>0</Managed>
    <Publisher>
      <UniqueName>${PUBLISHER.uniqueName}</UniqueName>
      <LocalizedNames>
        <LocalizedName description="${PUBLISHER.displayName}" languagecode="${LANGUAGE}" />
      </LocalizedNames>
      <Descriptions />
      <EMailAddress xsi:nil="true"></EMailAddress>
      <SupportingWebsiteUrl xsi:nil="true"></SupportingWebsiteUrl>
      <CustomizationPrefix>${PUBLISHER.prefix}</CustomizationPrefix>
      <CustomizationOptionValuePrefix>${PUBLISHER.optionValuePrefix}</CustomizationOptionValuePrefix>
      <Addresses />
    </Publisher>
    <RootComponents>
      <RootComponent type="${WORKFLOW_COMPONENT}" id="{${flowId}}" behavior="0" />
    </RootComponents>
    <MissingDependencies />
  </SolutionManifest>
</ImportExportXml>
`;
}

function customizationsXml(input: SolutionInput, flowId: string, jsonFileName: string): string {
  const references = Object.values(input.template.connectionReferences)
    .map(
      (
        reference,
      ) => `    <connectionreference connectionreferencelogicalname="${xml(reference.connection.connectionReferenceLogicalName)}">
      <connectionreferencedisplayname>Approvals (DM relay)</connectionreferencedisplayname>
      <connectorid>${APPROVALS_API_ID}</connectorid>
      <iscustomizable>1</iscustomizable>
      <promptingbehavior>0</promptingbehavior>
      <statecode>0</statecode>
      <statuscode>1</statuscode>
    </connectionreference>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Entities />
  <Roles />
  <Workflows>
    <Workflow WorkflowId="{${flowId}}" Name="${xml(input.flowName)}">
      <JsonFileName>${xml(jsonFileName)}</JsonFileName>
      <Type>1</Type>
      <Subprocess>0</Subprocess>
      <Category>5</Category>
      <Mode>0</Mode>
      <Scope>4</Scope>
      <OnDemand>0</OnDemand>
      <TriggerOnCreate>0</TriggerOnCreate>
      <TriggerOnDelete>0</TriggerOnDelete>
      <AsyncAutodelete>0</AsyncAutodelete>
      <SyncWorkflowLogOnFailure>0</SyncWorkflowLogOnFailure>
      <StateCode>1</StateCode>
      <StatusCode>2</StatusCode>
      <RunAs>1</RunAs>
      <IsTransacted>1</IsTransacted>
      <IntroducedVersion>1.0.0.0</IntroducedVersion>
      <IsCustomizable>1</IsCustomizable>
      <BusinessProcessType>0</BusinessProcessType>
      <IsCustomProcessingStepAllowedForOtherPublishers>1</IsCustomProcessingStepAllowedForOtherPublishers>
      <ModernFlowType>0</ModernFlowType>
      <PrimaryEntity>none</PrimaryEntity>
      <LocalizedNames>
        <LocalizedName languagecode="${LANGUAGE}" description="${xml(input.flowName)}" />
      </LocalizedNames>
    </Workflow>
  </Workflows>
  <FieldSecurityProfiles />
  <Templates />
  <EntityMaps />
  <EntityRelationships />
  <OrganizationSettings />
  <optionsets />
  <CustomControls />
  <EntityDataProviders />
  <connectionreferences>
${references}
  </connectionreferences>
  <Languages>
    <Language>${LANGUAGE}</Language>
  </Languages>
</ImportExportXml>
`;
}
